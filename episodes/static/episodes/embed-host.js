/* Media Hub embeds on a host page: include once, anywhere on the page, beside the iframe snippet.
     <script src="https://media.example/static/episodes/embed-host.js" async></script>
   Our audio player posts {type: "media-hub:embed-size", height} from inside its iframe; this sets that iframe's
   height so the player never scrolls or clips, at any width. Messages are trusted only from the very iframe
   whose window sent them, and only when they come from that iframe's own origin. */
(function () {
  "use strict";
  if (window.__mediaHubEmbedHost) return;
  window.__mediaHubEmbedHost = true;
  var MAX_HEIGHT = 4000;

  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "media-hub:embed-size" || typeof data.height !== "number") return;
    var frames = document.getElementsByTagName("iframe");
    for (var i = 0; i < frames.length; i++) {
      var frame = frames[i];
      if (frame.contentWindow !== event.source) continue;
      var origin;
      try { origin = new URL(frame.src, location.href).origin; } catch (e) { return; }
      if (origin !== event.origin) return;
      var height = Math.max(40, Math.min(MAX_HEIGHT, Math.ceil(data.height)));
      frame.style.height = height + "px";
      frame.setAttribute("height", String(height));
      return;
    }
  });
})();
