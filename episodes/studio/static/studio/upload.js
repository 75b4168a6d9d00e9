// Resumable upload from the edit page: the file goes up in parts as soon as it is chosen (each with its SHA-256;
// straight to S3 with presigned part URLs when S3 is on), with bytes and time left shown. After a dropped
// connection it retries; after a reload, choosing the same file sends only the missing parts.
const $ = (sel, root = document) => root.querySelector(sel);

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : ($("input[name=csrfmiddlewaretoken]") || {}).value || "";
}
function mb(n) { return `${(n / 1048576).toFixed(n < 10485760 ? 1 : 0)} MB`; }
function eta(seconds) {
  if (!isFinite(seconds) || seconds <= 0) return "";
  if (seconds < 60) return `${Math.ceil(seconds)} s left`;
  return `${Math.floor(seconds / 60)} min ${Math.ceil(seconds % 60)} s left`;
}
async function sha256hex(blob) {
  const digest = await crypto.subtle.digest("SHA-256", await blob.arrayBuffer());
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
async function postJSON(url, body) {
  const r = await fetch(url, { method: "POST", credentials: "same-origin", body: JSON.stringify(body),
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf(), Accept: "application/json" } });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error((data.error && data.error.message) || `The server answered ${r.status}.`);
  return data;
}

function putPart(url, blob, headers, onProgress, control) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    control.abort = () => xhr.abort();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(xhr)
      : reject(Object.assign(new Error(parseError(xhr)), { status: xhr.status })));
    xhr.onerror = () => reject(Object.assign(new Error("The connection dropped."), { retry: true }));
    xhr.onabort = () => reject(Object.assign(new Error("Paused."), { paused: true }));
    xhr.send(blob);
  });
}
function parseError(xhr) {
  try { return JSON.parse(xhr.responseText).error.message; } catch (e) { return `The server answered ${xhr.status}.`; }
}

function setup(box) {
  box.hidden = false;
  const plain = document.querySelector(".form-row.field-upload");
  if (plain) plain.hidden = true; // the page's plain file field: the studio sends the file itself
  const input = $("#studio-file", box), bar = $("progress", box), text = $("[data-upload-text]", box);
  const wrap = $("[data-upload-progress]", box), error = $("[data-upload-error]", box);
  const pause = $("[data-upload-cancel]", box), resumeNote = $("[data-upload-resume]", box);
  const key = `studio-upload:${box.dataset.item}`;
  const saved = JSON.parse(localStorage.getItem(key) || "null");
  if (saved) {
    resumeNote.hidden = false;
    resumeNote.textContent = `The upload of “${saved.name}” (${mb(saved.size)}) was interrupted: choose the same file to send the rest.`;
  }
  let control = { abort: null, paused: false }, file = null;

  pause.addEventListener("click", () => {
    if (!control.paused) { control.paused = true; if (control.abort) control.abort(); pause.textContent = "Resume"; }
    else { control.paused = false; pause.textContent = "Pause"; run(); }
  });
  input.addEventListener("change", () => { if (input.files[0]) { file = input.files[0]; run(); } });

  async function run() {
    error.hidden = true; wrap.hidden = false; resumeNote.hidden = true;
    try {
      const s = await postJSON(box.dataset.uploadUrl, { filename: file.name, byte_size: file.size, content_type: file.type });
      localStorage.setItem(key, JSON.stringify({ id: s.id, name: file.name, size: file.size }));
      let done = s.received_bytes;
      const started = performance.now(), startBytes = done;
      const show = (extra) => {
        const pct = Math.floor(done / file.size * 100);
        bar.value = pct;
        const rate = (done - startBytes) / ((performance.now() - started) / 1000);
        text.textContent = `${mb(done)} of ${mb(file.size)} (${pct}%) ${eta((file.size - done) / rate)}${s.resumed ? " — resumed" : ""}${extra || ""}`;
      };
      show();
      for (const n of s.missing_parts) {
        const blob = file.slice((n - 1) * s.part_size, Math.min(file.size, n * s.part_size));
        const s3 = s.part_urls[String(n)];
        const headers = s3 ? {} : { "X-CSRFToken": csrf(), "X-Content-SHA256": await sha256hex(blob) };
        const url = s3 || s.part_url_template.replace("{n}", String(n));
        for (let attempt = 1; ; attempt++) {
          if (control.paused) { text.textContent += " — paused"; return; }
          try {
            await putPart(url, blob, headers, (loaded) => { show(); bar.value = Math.floor((done + loaded) / file.size * 100); }, control);
            break;
          } catch (e) {
            if (e.paused) { text.textContent = `Paused at ${mb(done)} of ${mb(file.size)}.`; return; }
            if (attempt >= 6 || !(e.retry || e.status >= 500)) throw e;
            show(` — ${e.message} Trying again (${attempt}/5)…`);
            await new Promise((r) => setTimeout(r, 1000 * 2 ** (attempt - 1)));
          }
        }
        done += blob.size;
        show();
      }
      text.textContent = `${mb(file.size)} sent; checking and queueing for processing…`;
      await postJSON(s.complete_url, {});
      localStorage.removeItem(key);
      input.value = "";
      text.textContent = "Uploaded. Processing starts now.";
      bar.value = 100;
      setTimeout(() => window.location.reload(), 800);
    } catch (e) {
      error.hidden = false;
      error.textContent = `The upload stopped: ${e.message} Choose the file again to continue where it stopped.`;
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const box = document.getElementById("studio-upload");
  if (box && window.crypto && crypto.subtle) setup(box);
});
