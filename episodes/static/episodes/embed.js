/* Media Hub player: native HLS where the browser has it, ?t= start, chapter buttons, storyboard on seek,
   one play beacon per page load. No framework, no third-party requests. */
(function () {
  "use strict";
  var HLS = "application/vnd.apple.mpegurl";

  function player(root) {
    var media = root.querySelector("video, audio");
    if (!media) return;
    var d = root.dataset;
    var start = parseFloat(d.start || "0") || 0;
    var started = false;
    var beaconSent = false;

    // Native HLS (Safari, iOS, recent Chromium) adapts to the network; the MP4 <source>s stay the fallback.
    if (d.hls && media.canPlayType && media.canPlayType(HLS)) {
      media.addEventListener("error", function () {
        media.removeAttribute("src");
        media.load();
      }, { once: true });
      media.src = d.hls;
    }

    media.addEventListener("loadedmetadata", function () {
      if (!started && start > 0) {
        var end = isFinite(media.duration) ? Math.max(0, media.duration - 0.5) : start;
        media.currentTime = Math.min(start, end);
      }
      started = true;
    });

    media.addEventListener("playing", function () {
      if (beaconSent || !d.events) return;
      beaconSent = true;
      var body = JSON.stringify({ kind: d.kind, id: Number(d.id), event: "play" });
      try {
        if (navigator.sendBeacon && navigator.sendBeacon(d.events, body)) return;
      } catch (e) { /* fall through to fetch */ }
      if (window.fetch) {
        fetch(d.events, { method: "POST", body: body, keepalive: true, credentials: "omit" })
          .catch(function () {});
      }
    });

    chapters(root, media);
    if (d.storyboard) storyboard(root, media, d.storyboard);
  }

  function chapters(root, media) {
    var buttons = Array.prototype.slice.call(root.querySelectorAll("[data-seek]"));
    if (!buttons.length) return;
    var starts = buttons.map(function (b) { return parseFloat(b.dataset.seek) || 0; });
    buttons.forEach(function (button, i) {
      button.addEventListener("click", function () {
        media.currentTime = starts[i];
        var p = media.play();
        if (p && p.catch) p.catch(function () {});
      });
    });
    media.addEventListener("timeupdate", function () {
      var current = -1;
      for (var i = 0; i < starts.length; i++) if (media.currentTime >= starts[i]) current = i;
      buttons.forEach(function (b, i) {
        if (i === current) b.setAttribute("aria-current", "true");
        else b.removeAttribute("aria-current");
      });
    });
  }

  // Storyboard: the WebVTT index maps time ranges to #xywh tiles of one sprite; show the tile while seeking.
  function storyboard(root, media, url) {
    var box = root.querySelector(".storyboard");
    if (!box) return;
    var cues = null, loading = false, timer = 0;

    function seconds(ts) {
      var p = ts.trim().split(":"), s = 0;
      for (var i = 0; i < p.length; i++) s = s * 60 + parseFloat(p[i]);
      return s;
    }
    function load() {
      loading = true;
      fetch(url, { credentials: "omit" }).then(function (r) { return r.ok ? r.text() : ""; }).then(function (text) {
        cues = [];
        text.replace(/\r/g, "").split("\n\n").forEach(function (block) {
          var lines = block.trim().split("\n");
          var at = lines.findIndex(function (l) { return l.indexOf("-->") >= 0; });
          if (at < 0 || !lines[at + 1]) return;
          var t = lines[at].split("-->"), m = /^(.*)#xywh=(\d+),(\d+),(\d+),(\d+)$/.exec(lines[at + 1].trim());
          if (!m) return;
          cues.push({ start: seconds(t[0]), end: seconds(t[1]), src: new URL(m[1], new URL(url, location.href)).href,
                      x: +m[2], y: +m[3], w: +m[4], h: +m[5] });
        });
      }).catch(function () { cues = []; });
    }
    media.addEventListener("seeking", function () {
      if (!cues) { if (!loading) load(); return; }
      if (media.readyState < 1) return;
      var t = media.currentTime, cue = null;
      for (var i = 0; i < cues.length; i++) if (t >= cues[i].start && t < cues[i].end) cue = cues[i];
      if (!cue) return;
      box.style.width = cue.w + "px";
      box.style.height = cue.h + "px";
      box.style.backgroundImage = "url(\"" + cue.src.replace(/"/g, "%22") + "\")";
      box.style.backgroundPosition = (-cue.x) + "px " + (-cue.y) + "px";
      box.hidden = false;
      clearTimeout(timer);
    });
    media.addEventListener("seeked", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { box.hidden = true; }, 800);
    });
    if (media.readyState >= 1) load();
    else media.addEventListener("loadedmetadata", function () { if (!cues && !loading) load(); }, { once: true });
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-player]"), player);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
