// The producer studio's enhancements on an episode/video edit page. Everything here is optional: without it
// the page still saves, publishes and shows the status (a reload refreshes it). No build step, no library.
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// --- Live processing status: poll a small JSON endpoint while a job is queued or running. -----------------
function watchStatus(section) {
  const url = section.dataset.statusUrl;
  if (!url) return;
  let lastState = null;
  async function tick() {
    let data;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) return schedule(5000);
      data = await response.json();
    } catch (e) { return schedule(5000); }
    const box = $("#studio-status");
    const set = (name, value) => { const el = $(`[data-field="${name}"]`, box); if (el) el.textContent = value; };
    set("status_label", data.status_label);
    const job = data.job;
    $("[data-job]", box).hidden = !job || job.state === "succeeded";
    if (job) {
      set("stage_label", job.stage_label);
      set("progress", job.progress);
      $("progress", box).value = job.progress;
      const err = $('[data-field="error"]', box);
      err.hidden = job.state !== "failed";
      set("error_text", job.error || "");
      box.classList.toggle("studio-failed", job.state === "failed");
    }
    const problem = $('[data-field="publish_problem"]', box);
    problem.hidden = !data.publish_problem;
    problem.textContent = data.publish_problem || "";
    $('[data-field="when_ready"]', box).hidden = !data.publish_when_ready;
    const state = job ? job.state : "none";
    const clips = data.clips || [];
    for (const clip of clips) {
      const row = $(`[data-clip="${clip.id}"]`);
      if (!row) continue;
      const busy = clip.state === "queued" || clip.state === "running";
      $('[data-field="clip_state"]', row).textContent = clip.state;
      const bar = $("progress", row);
      bar.hidden = !busy;
      bar.value = clip.progress;
      const pct = $('[data-field="clip_progress"]', row);
      pct.hidden = clip.state !== "running";
      pct.textContent = `${clip.progress} %`;
    }
    const clipsBusy = clips.some((c) => c.state === "queued" || c.state === "running");
    // A clip that finished (or failed) since the page was drawn: reload for its download link or its reason.
    const clipDone = clips.some((c) => {
      const row = $(`[data-clip="${c.id}"]`);
      return row && row.dataset.state !== c.state && (c.state === "succeeded" || c.state === "failed");
    });
    const active = state === "queued" || state === "running";
    if ((lastState && lastState !== state && !active) || clipDone) {
      // Finished: reload once so the players, files and checklist show the new renditions.
      window.location.reload();
      return;
    }
    lastState = state;
    schedule(active || clipsBusy ? 1500 : 10000);
  }
  function schedule(ms) { setTimeout(tick, ms); }
  tick();
}

// --- Rows of inputs (chapters, soundbites, funding): add a row without a round trip. ----------------------
function enhanceRows(box) {
  const count = $("[data-rows-count]", box);
  const body = $("tbody", box);
  const add = $("[data-rows-add]", box);
  add.hidden = false;
  const name = box.dataset.rowsName;
  box.addRow = (values = {}) => {
    const template = body.lastElementChild;
    const index = parseInt(count.value, 10);
    const row = template.cloneNode(true);
    row.dataset.row = String(index);
    for (const el of $$("input, label", row)) {
      for (const attr of ["name", "id", "for"]) {
        const v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.replace(new RegExp(`${name}-\\d+-`), `${name}-${index}-`));
      }
      if (el.tagName === "INPUT") {
        if (el.type === "checkbox") el.checked = false; else el.value = values[el.dataset.key] ?? "";
      }
    }
    body.appendChild(row);
    count.value = String(index + 1);
    return row;
  };
  add.addEventListener("click", () => { const row = box.addRow(); $("input", row).focus(); });
}

// --- Waveform: draw the pipeline's audiowaveform JSON, zoom, seek, and edit chapters on it. ---------------
export function fmtTime(t) {
  const h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), s = t % 60;
  const ss = (Math.round(s * 10) / 10).toFixed(s % 1 ? 1 : 0).padStart(s % 1 ? 4 : 2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
export function parseTime(text) {
  const parts = String(text).trim().replace(",", ".").split(":").map(Number);
  if (parts.some(Number.isNaN)) return NaN;
  return parts.reduce((acc, p) => acc * 60 + p, 0);
}

function waveform(container, audio) {
  const canvas = document.createElement("canvas");
  container.appendChild(canvas);
  const tools = document.createElement("div");
  tools.className = "studio-wave-tools";
  tools.innerHTML = '<button type="button" class="button" data-zoom="in">Zoom in</button> '
    + '<button type="button" class="button" data-zoom="out">Zoom out</button> '
    + '<button type="button" class="button" data-add-chapter>Add chapter at playhead</button> '
    + '<button type="button" class="button" data-add-soundbite>Add soundbite at playhead</button> '
    + '<span data-wave-info aria-live="polite"></span>';
  container.after(tools);
  const chaptersBox = $('[data-rows-name="chapters"]');
  const soundbitesBox = $('[data-rows-name="soundbites"]');
  let wave = null, view = { start: 0, span: 0 }, drag = null, playhead = 0;
  // The playhead is ours: set by a click even before the audio has loaded, followed while it plays.
  const seek = (t) => { playhead = t; try { audio.currentTime = t; } catch (e) { /* not loaded yet */ } };
  const duration = () => (wave ? wave.length * wave.samples_per_pixel / wave.sample_rate : 0);

  function chapterInputs() {
    if (!chaptersBox) return [];
    return $$("tbody tr", chaptersBox).map((row) => ({ row, start: $('input[data-key="start"]', row), title: $('input[data-key="title"]', row) }))
      .filter((c) => c.start && c.start.value.trim() !== "" && !$('input[type="checkbox"]', c.row).checked);
  }
  const xOf = (t) => (t - view.start) / view.span * canvas.width;
  const tOf = (x) => view.start + x / canvas.width * view.span;

  function draw() {
    if (!wave) return;
    const dpr = window.devicePixelRatio || 1;
    canvas.width = container.clientWidth * dpr; canvas.height = container.clientHeight * dpr;
    const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, mid = h / 2;
    g.clearRect(0, 0, w, h);
    const pps = wave.sample_rate / wave.samples_per_pixel; // points per second
    const first = Math.max(0, Math.floor(view.start * pps)), last = Math.min(wave.length, Math.ceil((view.start + view.span) * pps));
    const ratio = (last - first) / w, scale = (1 << (wave.bits - 1));
    g.fillStyle = "#2b6cb0";
    // One min/max per pixel column: the cost is the canvas width, whatever the episode's length or the zoom.
    for (let x = 0; x < w; x++) {
      const a = first + Math.floor(x * ratio), b = Math.min(last, first + Math.floor((x + 1) * ratio));
      let lo = 0, hi = 0;
      for (let i = a; i < Math.max(b, a + 1) && i < wave.length; i++) {
        const mn = wave.data[2 * i], mx = wave.data[2 * i + 1];
        if (mn < lo) lo = mn; if (mx > hi) hi = mx;
      }
      g.fillRect(x, mid - hi / scale * mid, 1, Math.max(1, (hi - lo) / scale * mid));
    }
    g.fillStyle = "#a40000"; g.font = `${12 * dpr}px sans-serif`;
    for (const c of chapterInputs()) {
      const x = xOf(parseTime(c.start.value));
      if (x < 0 || x > w) continue;
      g.fillRect(x - dpr, 0, 2 * dpr, h);
      g.fillText(c.title.value || "Chapter", x + 4 * dpr, 14 * dpr);
    }
    if (region) {
      g.fillStyle = "rgba(107, 70, 193, 0.25)";
      const x0 = xOf(Math.min(region.from, region.to)), x1 = xOf(Math.max(region.from, region.to));
      g.fillRect(x0, 0, Math.max(1, x1 - x0), h);
    }
    const px = xOf(playhead);
    g.fillStyle = "#000"; g.fillRect(px - dpr / 2, 0, dpr, h);
    $("[data-wave-info]", tools).textContent = `Playhead ${fmtTime(Math.round(playhead * 10) / 10)} of ${fmtTime(duration())}`;
  }

  function nearChapter(x) {
    return chapterInputs().find((c) => Math.abs(xOf(parseTime(c.start.value)) - x) < 6 * (window.devicePixelRatio || 1));
  }
  function canvasX(ev) { const r = canvas.getBoundingClientRect(); return (ev.clientX - r.left) * canvas.width / r.width; }
  let region = null; // shift+drag: a soundbite from the selected stretch
  canvas.addEventListener("pointerdown", (ev) => {
    const x = canvasX(ev), hit = nearChapter(x);
    if (ev.shiftKey && soundbitesBox) { region = { from: tOf(x), to: tOf(x) }; canvas.setPointerCapture(ev.pointerId); return; }
    if (hit) { drag = hit; canvas.setPointerCapture(ev.pointerId); return; }
    seek(Math.max(0, Math.min(duration(), tOf(x))));
    draw();
  });
  canvas.addEventListener("pointermove", (ev) => {
    if (region) { region.to = Math.max(0, Math.min(duration(), tOf(canvasX(ev)))); draw(); return; }
    if (!drag) return;
    const t = Math.max(0, Math.min(duration() - 1, tOf(canvasX(ev))));
    drag.start.value = fmtTime(Math.round(t * 10) / 10);
    draw();
  });
  canvas.addEventListener("pointerup", () => {
    drag = null;
    if (!region) return;
    const start = Math.round(Math.min(region.from, region.to) * 10) / 10;
    const length = Math.round(Math.abs(region.to - region.from) * 10) / 10;
    region = null;
    if (length >= 1) soundbitesBox.addRow({ start: fmtTime(start), duration: String(Math.min(300, length)) });
    draw();
  });
  tools.addEventListener("click", (ev) => {
    const zoom = ev.target.dataset.zoom;
    if (zoom) {
      const centre = playhead || view.start + view.span / 2;
      view.span = Math.max(5, Math.min(duration(), zoom === "in" ? view.span / 2 : view.span * 2));
      view.start = Math.max(0, Math.min(duration() - view.span, centre - view.span / 2));
      draw();
    }
    if (ev.target.hasAttribute("data-add-chapter") && chaptersBox) {
      const row = chaptersBox.addRow({ start: fmtTime(Math.round(playhead * 10) / 10), title: "" });
      $('input[data-key="title"]', row).focus();
      draw();
    }
    if (ev.target.hasAttribute("data-add-soundbite") && soundbitesBox) {
      const start = Math.round(playhead * 10) / 10;
      soundbitesBox.addRow({ start: fmtTime(start), duration: String(Math.min(30, Math.max(1, Math.floor(duration() - start)))) });
    }
  });
  if (chaptersBox) chaptersBox.addEventListener("input", draw);
  const follow = () => { if (!audio.paused || audio.currentTime) playhead = audio.currentTime; draw(); };
  audio.addEventListener("timeupdate", follow);
  audio.addEventListener("seeked", follow);
  window.addEventListener("resize", draw);
  fetch(container.dataset.waveformUrl, { credentials: "same-origin" }).then((r) => r.json()).then((json) => {
    const channels = json.channels || 1;
    // Keep the first channel's min/max pairs in a typed array (a 3-hour episode: ~216,000 numbers).
    const data = new Int16Array(json.length * 2);
    for (let i = 0; i < json.length; i++) { data[2 * i] = json.data[2 * i * channels]; data[2 * i + 1] = json.data[2 * i * channels + 1]; }
    wave = { ...json, data };
    view = { start: 0, span: duration() };
    container.dataset.ready = "1";
    draw();
  });
  return { draw };
}

// --- Soundbites: a Play button per row plays just that span of the episode. --------------------------------
function soundbitePreview(box, audio) {
  const head = $("thead tr", box);
  const th = document.createElement("th");
  th.scope = "col";
  th.textContent = "Listen";
  head.appendChild(th);
  const withButton = (row) => {
    if ($("[data-play-bite]", row)) return;
    const cell = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button";
    button.dataset.playBite = "";
    button.textContent = "Play";
    cell.appendChild(button);
    row.appendChild(cell);
  };
  const label = () => $$("tbody tr", box).forEach((row, i) => {
    withButton(row);
    $("[data-play-bite]", row).setAttribute("aria-label", `Play soundbite ${i + 1}`);
  });
  label();
  new MutationObserver(label).observe($("tbody", box), { childList: true });
  let stopAt = null;
  const watch = () => {
    if (stopAt === null) return;
    if (audio.paused || audio.currentTime >= stopAt) { if (!audio.paused) audio.pause(); stopAt = null; return; }
    requestAnimationFrame(watch);
  };
  box.addEventListener("click", (ev) => {
    const button = ev.target.closest("[data-play-bite]");
    if (!button) return;
    const row = button.closest("tr");
    const start = parseTime($('input[data-key="start"]', row).value);
    const length = parseFloat($('input[data-key="duration"]', row).value);
    if (!(start >= 0) || !(length > 0)) {
      $('input[data-key="start"]', row).focus();
      return;
    }
    stopAt = start + length;
    audio.currentTime = start;
    audio.play().then(() => requestAnimationFrame(watch), () => { stopAt = null; });
  });
}

// --- Storyboard scrubber: the pipeline's sprite and its WebVTT index (#xywh tiles) under the video. ---------
function storyboardScrubber(box, video) {
  const stamp = (h, m, s) => Number(h) * 3600 + Number(m) * 60 + Number(s);
  fetch(box.dataset.vttUrl, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : Promise.reject(r.status))).then((text) => {
    const cues = [];
    const re = /(\d+):(\d\d):(\d\d(?:\.\d+)?)\s+-->\s+(\d+):(\d\d):(\d\d(?:\.\d+)?)[^\n]*\n[^\n]*#xywh=(\d+),(\d+),(\d+),(\d+)/g;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      cues.push({ start: stamp(m[1], m[2], m[3]), end: stamp(m[4], m[5], m[6]), x: +m[7], y: +m[8], w: +m[9], h: +m[10] });
    }
    if (!cues.length) return;
    const end = cues[cues.length - 1].end;
    const range = $("input[type=range]", box), tile = $("[data-tile]", box), label = $("[data-tile-time]", box);
    range.max = String(end);
    range.disabled = false;
    tile.style.backgroundImage = `url("${box.dataset.spriteUrl}")`;
    const show = (t) => {
      let i = cues.findIndex((cue) => t < cue.end);
      if (i === -1) i = cues.length - 1;
      const c = cues[i];
      tile.style.width = `${c.w}px`;
      tile.style.height = `${c.h}px`;
      tile.style.backgroundPosition = `-${c.x}px -${c.y}px`;
      tile.dataset.cue = String(i);
      label.textContent = fmtTime(Math.round(t * 10) / 10);
    };
    range.addEventListener("input", () => show(parseFloat(range.value)));
    range.addEventListener("change", () => { video.currentTime = parseFloat(range.value); });
    range.addEventListener("pointermove", (ev) => {
      const r = range.getBoundingClientRect();
      show(Math.max(0, Math.min(1, (ev.clientX - r.left) / r.width)) * end);
    });
    range.addEventListener("pointerleave", () => show(parseFloat(range.value)));
    video.addEventListener("timeupdate", () => {
      if (document.activeElement === range) return;
      range.value = String(video.currentTime);
      show(video.currentTime);
    });
    show(0);
    box.dataset.ready = "1";
  }).catch(() => { /* no index: the link to the whole storyboard stays */ });
}

// --- Video preview: the HLS ladder through hls.js (vendored), natively where the browser plays HLS, else the MP4.
function hlsPreview(video) {
  const url = video.dataset.hlsUrl, note = $("[data-video-mode]");
  if (!url) return;
  const say = (text) => { if (note) note.textContent = text; };
  const script = document.createElement("script");
  script.src = video.dataset.hlsLib;
  script.onload = () => {
    if (window.Hls && window.Hls.isSupported()) {
      const hls = new window.Hls();
      hls.on(window.Hls.Events.ERROR, (_, data) => {
        if (data.fatal) { hls.destroy(); video.src = video.getAttribute("src"); say("HLS failed; playing the largest MP4."); }
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      hls.on(window.Hls.Events.MANIFEST_PARSED, (_, data) => say(`Playing the HLS ladder (${data.levels.length} rendition${data.levels.length === 1 ? "" : "s"}, adaptive) with hls.js.`));
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = url; say("Playing the HLS ladder natively.");
    }
  };
  document.head.appendChild(script);
}

document.addEventListener("DOMContentLoaded", () => {
  const video = $("#studio-video");
  if (video) hlsPreview(video);
  const board = $("#studio-storyboard");
  if (video && board) storyboardScrubber(board, video);
  for (const box of $$(".studio-rows")) enhanceRows(box);
  const section = $("section.studio");
  if (section) watchStatus(section);
  const audio = $("#studio-audio"), wave = $("#studio-waveform");
  if (audio && wave) window.studioWave = waveform(wave, audio);
  const bites = $('[data-rows-name="soundbites"]');
  if (audio && bites) soundbitePreview(bites, audio);
});
