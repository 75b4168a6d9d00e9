/* Media Hub player. One source at start: native HLS where the browser has it, else hls.js (vendored, loaded only
   then), else the MP4 <source>s. Quality, speed and share menus, chapter marks, Media Session, ?t= start, storyboard
   on seek, one play beacon per page load, and (in an iframe) the page's height for the host. No framework, no
   third-party requests, no inline code (a `script-src 'self'` CSP holds). */
(function () {
  "use strict";
  var HLS = "application/vnd.apple.mpegurl";
  var SPEEDS = [0.75, 1, 1.25, 1.5, 1.75, 2];
  var reducedMotion = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0)), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60);
    var ss = String(s % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + ss : m + ":" + ss;
  }

  function loadScript(src, done) {
    var script = el("script", { src: src });
    script.onload = function () { done(window.Hls || null); };
    script.onerror = function () { done(null); };
    document.head.appendChild(script);
  }

  function player(root) {
    var media = root.querySelector("video, audio");
    if (!media) return;
    var d = root.dataset;
    var start = parseFloat(d.start || "0") || 0;
    var state = { mode: "mp4", hls: null, root: root, media: media, started: false };
    var mp4s = Array.prototype.map.call(media.querySelectorAll("source"), function (s) {
      return { url: s.getAttribute("src").split("#")[0], label: s.dataset.label || "" };
    });

    media.addEventListener("loadedmetadata", function () {
      if (!state.started && start > 0 && state.mode !== "hlsjs") {
        var end = isFinite(media.duration) ? Math.max(0, media.duration - 0.5) : start;
        if (media.currentTime < 0.1) media.currentTime = Math.min(start, end);
      }
      state.started = true;
    });
    media.addEventListener("playing", function () { root.classList.add("played"); });
    beacon(root, media);
    chooseSource(state, function () {
      tools(state, mp4s);
      // Autoplay is motion: a reader who asked for less motion starts it themselves.
      if (d.autoplay !== undefined && !reducedMotion) {
        var p = media.play();
        if (p && p.catch) p.catch(function () {});
      }
    });
    chapters(root, media);
    mediaSession(root, media);
    if (d.storyboard) storyboard(root, media, d.storyboard);
  }

  // Exactly one source is loaded: the markup says preload="none", so nothing is fetched before this choice.
  function chooseSource(state, ready) {
    var media = state.media, d = state.root.dataset;
    var wantsPlay = false;
    media.addEventListener("play", function () { wantsPlay = true; });
    function useMp4() {
      state.mode = "mp4";
      if (media.getAttribute("src")) { media.removeAttribute("src"); }
      if (media.tagName === "VIDEO") { media.preload = "metadata"; media.load(); }
      // HLS failed after the reader (or autoplay) pressed play: carry on with the MP4.
      if (wantsPlay) { var p = media.play(); if (p && p.catch) p.catch(function () {}); }
    }
    if (!d.hls) { ready(); return; }
    if (media.canPlayType && media.canPlayType(HLS)) {
      state.mode = "native";
      media.addEventListener("error", function () { if (state.mode === "native") { useMp4(); } }, { once: true });
      media.src = d.hls;  // first: raising preload while the MP4 <source> is selected would start fetching it
      media.preload = "metadata";
      ready();
      return;
    }
    if (!(window.MediaSource || window.ManagedMediaSource) || !d.hlsjs) { useMp4(); ready(); return; }
    loadScript(d.hlsjs, function (Hls) {
      if (!Hls || !Hls.isSupported()) { useMp4(); ready(); return; }
      var start = parseFloat(d.start || "0") || 0;
      var hls = new Hls({ startPosition: start > 0 ? start : -1, capLevelToPlayerSize: true });
      state.mode = "hlsjs";
      state.hls = hls;
      hls.on(Hls.Events.ERROR, function (_, data) {
        if (!data.fatal) return;
        hls.destroy();
        state.hls = null;
        useMp4();
      });
      hls.on(Hls.Events.MANIFEST_PARSED, function () { ready(); });
      hls.loadSource(d.hls);
      hls.attachMedia(media);
    });
  }

  function beacon(root, media) {
    var d = root.dataset, sent = false;
    media.addEventListener("playing", function () {
      if (sent || !d.events) return;
      sent = true;
      var body = JSON.stringify({ kind: d.kind, id: Number(d.id), event: "play" });
      try {
        if (navigator.sendBeacon && navigator.sendBeacon(d.events, body)) return;
      } catch (e) { /* fall through to fetch */ }
      if (window.fetch) {
        fetch(d.events, { method: "POST", body: body, keepalive: true, credentials: "omit" }).catch(function () {});
      }
    });
  }

  // --- Quality, speed and share -----------------------------------------------------------------------------
  function tools(state, mp4s) {
    var root = state.root, media = state.media;
    var bar = el("div", { class: "tools", role: "group", "aria-label": "Player settings" });
    if (media.tagName === "VIDEO") {
      var quality = qualityMenu(state, mp4s);
      if (quality) bar.appendChild(quality);
    }
    bar.appendChild(speedMenu(media));
    bar.appendChild(shareMenu(root, media));
    var stage = root.querySelector(".stage");
    if (stage) stage.appendChild(bar);  // video: over the picture, so the frame keeps the video's aspect ratio
    else media.parentNode.insertBefore(bar, media.nextSibling);
    if (media.tagName === "AUDIO") chapterBar(root, media, bar);
  }

  function select(label, cls, options, current, onChange) {
    var wrap = el("label", { class: cls });
    wrap.appendChild(el("span", { class: "label" }, label));
    var box = el("select", { "aria-label": label });
    options.forEach(function (o) {
      var opt = el("option", { value: String(o.value) }, o.text);
      if (String(o.value) === String(current)) opt.selected = true;
      box.appendChild(opt);
    });
    box.addEventListener("change", function () { onChange(box.value); });
    wrap.appendChild(box);
    return wrap;
  }

  function qualityMenu(state, mp4s) {
    var media = state.media, options = [{ value: "auto", text: "Auto" }];
    if (state.mode === "hlsjs" && state.hls) {
      state.hls.levels.forEach(function (level, i) {
        options.push({ value: "level:" + i, text: (level.height || Math.round(level.bitrate / 1000)) + "p" });
      });
    } else {
      mp4s.forEach(function (s, i) { if (s.label) options.push({ value: "mp4:" + i, text: s.label }); });
    }
    if (options.length < 2) return null;
    var autoMode = state.mode;
    return select("Quality", "quality", options, "auto", function (value) {
      if (state.hls) {
        state.hls.currentLevel = value === "auto" ? -1 : parseInt(value.split(":")[1], 10);
        return;
      }
      var at = media.currentTime, playing = !media.paused;
      var url = value === "auto" ? (autoMode === "native" ? state.root.dataset.hls : mp4s[0].url)
                                 : mp4s[parseInt(value.split(":")[1], 10)].url;
      media.src = url;
      media.addEventListener("loadedmetadata", function () {
        media.currentTime = at;
        if (playing) { var p = media.play(); if (p && p.catch) p.catch(function () {}); }
      }, { once: true });
    });
  }

  function speedMenu(media) {
    return select("Speed", "speed", SPEEDS.map(function (s) { return { value: s, text: s + "×" }; }), 1,
      function (value) { media.playbackRate = parseFloat(value) || 1; });
  }

  function shareLink(root, media, withTime) {
    var url = new URL(root.dataset.page, location.href);
    url.search = "";
    if (withTime && media.currentTime >= 1) url.searchParams.set("t", String(Math.floor(media.currentTime)));
    return url.href;
  }

  function shareMenu(root, media) {
    var wrap = el("div", { class: "share" });
    var button = el("button", { type: "button", "aria-expanded": "false", "aria-haspopup": "true" }, "Share");
    var panel = el("div", { class: "share-panel", hidden: "" });
    var timeBox = el("input", { type: "checkbox", id: "share-at-" + root.dataset.id });
    var timeLabel = el("label", { for: timeBox.id }, "Start at 0:00");
    var link = el("input", { type: "text", readonly: "", "aria-label": "Link", class: "share-link" });
    var copy = el("button", { type: "button", class: "copy" }, "Copy link");
    var status = el("span", { class: "status", role: "status" });
    function refresh() {
      timeLabel.textContent = "Start at " + clock(media.currentTime);
      link.value = shareLink(root, media, timeBox.checked);
    }
    button.addEventListener("click", function () {
      var open = panel.hidden;
      panel.hidden = !open;
      button.setAttribute("aria-expanded", String(open));
      if (open) { timeBox.checked = media.currentTime >= 1; refresh(); link.focus(); link.select(); }
    });
    timeBox.addEventListener("change", refresh);
    media.addEventListener("pause", function () { if (!panel.hidden) refresh(); });
    copy.addEventListener("click", function () {
      refresh();
      var done = function () { status.textContent = "Copied"; };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(link.value).then(done, function () { link.select(); });
      } else { link.select(); }
    });
    panel.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { panel.hidden = true; button.setAttribute("aria-expanded", "false"); button.focus(); }
    });
    [timeBox, timeLabel, link, copy, status].forEach(function (n) { panel.appendChild(n); });
    wrap.appendChild(button);
    wrap.appendChild(panel);
    return wrap;
  }

  // --- Chapters: list buttons, marks on a timeline, Media Session previous/next ------------------------------
  function chapterStarts(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-seek]"), function (b) {
      return { start: parseFloat(b.dataset.seek) || 0, title: b.dataset.title || "", button: b };
    });
  }

  function seek(media, t) {
    media.currentTime = t;
    var p = media.play();
    if (p && p.catch) p.catch(function () {});
  }

  function chapters(root, media) {
    var list = chapterStarts(root);
    if (!list.length) return;
    list.forEach(function (c) { c.button.addEventListener("click", function () { seek(media, c.start); }); });
    media.addEventListener("timeupdate", function () {
      var current = -1;
      for (var i = 0; i < list.length; i++) if (media.currentTime >= list[i].start) current = i;
      list.forEach(function (c, i) {
        if (i === current) c.button.setAttribute("aria-current", "true");
        else c.button.removeAttribute("aria-current");
      });
    });
  }

  function chapterBar(root, media, after) {
    var list = chapterStarts(root);
    var bar = el("div", { class: "timeline", "aria-hidden": "true" });
    var fill = el("div", { class: "fill" });
    bar.appendChild(fill);
    function place() {
      if (!isFinite(media.duration) || media.duration <= 0) return;
      Array.prototype.forEach.call(bar.querySelectorAll(".mark"), function (m) { m.remove(); });
      list.forEach(function (c) {
        var mark = el("span", { class: "mark", title: clock(c.start) + " " + c.title });
        mark.style.left = (100 * c.start / media.duration) + "%";
        bar.appendChild(mark);
      });
    }
    bar.addEventListener("click", function (e) {
      var box = bar.getBoundingClientRect();
      if (isFinite(media.duration) && box.width > 0) seek(media, media.duration * (e.clientX - box.left) / box.width);
    });
    media.addEventListener("timeupdate", function () {
      if (isFinite(media.duration) && media.duration > 0) fill.style.width = (100 * media.currentTime / media.duration) + "%";
    });
    media.addEventListener("loadedmetadata", place);
    media.addEventListener("durationchange", place);
    if (media.readyState >= 1) place();
    after.parentNode.insertBefore(bar, after);
  }

  function mediaSession(root, media) {
    if (!("mediaSession" in navigator) || typeof window.MediaMetadata !== "function") return;
    var d = root.dataset, art = [];
    if (d.artwork) art.push({ src: new URL(d.artwork, location.href).href });
    var session = navigator.mediaSession;
    session.metadata = new window.MediaMetadata({ title: d.title || "", artist: d.show || "", album: d.show || "",
                                                  artwork: art });
    var list = chapterStarts(root);
    function current() {
      var at = -1;
      for (var i = 0; i < list.length; i++) if (media.currentTime >= list[i].start - 0.25) at = i;
      return at;
    }
    var handlers = {
      play: function () { media.play(); },
      pause: function () { media.pause(); },
      seekbackward: function (e) { media.currentTime = Math.max(0, media.currentTime - (e.seekOffset || 10)); },
      seekforward: function (e) { media.currentTime = media.currentTime + (e.seekOffset || 10); },
      seekto: function (e) { if (e.seekTime !== undefined) media.currentTime = e.seekTime; },
    };
    if (list.length) {
      handlers.previoustrack = function () { var i = current(); seek(media, list[Math.max(0, i - 1)].start); };
      handlers.nexttrack = function () { var i = current(); if (i + 1 < list.length) seek(media, list[i + 1].start); };
    }
    Object.keys(handlers).forEach(function (action) {
      try { session.setActionHandler(action, handlers[action]); } catch (e) { /* unsupported action */ }
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
    media.addEventListener("playing", function () { if (!cues && !loading) load(); }, { once: true });
  }

  // In an iframe, tell the host page our height (embed-host.js sets the iframe's height from it).
  function reportHeight() {
    if (window.parent === window || !document.body.classList.contains("embed-audio")) return;
    var last = 0;
    function post() {
      var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
      if (height === last) return;
      last = height;
      window.parent.postMessage({ type: "media-hub:embed-size", height: height, src: location.href }, "*");
    }
    if (window.ResizeObserver) new ResizeObserver(post).observe(document.body);
    window.addEventListener("load", post);
    post();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-player]"), player);
    reportHeight();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
