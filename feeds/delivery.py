"""The stable media prefix ``/d/``: resolve a public name to the current stored file, count, then serve or redirect.

    /d/e/12/audio_mp3.mp3          the current MP3 rendition of live episode 12 (kind + variant, not storage key)
    /d/v/3/video_mp4-720p.mp4      a video rendition; /d/v/3/hls/v0/seg_001.m4s a file of its HLS package
    /d/e/12/transcript-uk.vtt      a transcript;  /d/s/4/artwork.jpg  a show's artwork

Only live (published, publish time passed) episodes and videos resolve; anything else is a 404 that says no
more than "not found". Local mode serves the file (feeds.serving); S3 mode redirects to the CDN or a presigned
URL (episodes.storage_urls), except HLS playlists, which are proxied so their relative URIs stay under /d/.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils import timezone

from episodes.links import rendition_path
from episodes.models import Rendition, Show
from episodes.storage import storage
from episodes.storage_urls import media_redirect_url
from feeds import analytics, selectors
from feeds.serving import ByteRange, Unsatisfiable, parse_range, serve_file

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,120}$")
_HLS_PART = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,120}$")
_TRANSCRIPT = re.compile(r"^transcript-(?P<language>[A-Za-z0-9\-]{1,16})\.(?P<fmt>vtt|srt|json)$")
HLS_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".ts": "video/mp2t",
    ".aac": "audio/aac",
    ".vtt": "text/vtt; charset=utf-8",
}
PLAYLIST_MAX_BYTES = 2 * 1024 * 1024
MEDIA_CACHE_CONTROL = "public, max-age=3600"
# Public media read by embeds on other origins (hls.js uses fetch/XHR); no credentials are involved.
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, ETag",
}


@dataclass(frozen=True)
class MediaFile:
    """A resolved stored file; ``rendition`` is set when requests for it may count as downloads."""

    key: str
    content_type: str
    rendition: Rendition | None = None


def _ids(owner: str, owner_id: int) -> tuple[int | None, int | None]:
    return (owner_id, None) if owner == "e" else (None, owner_id)


def resolve_named(owner: str, owner_id: int, name: str, *, members: bool = False) -> MediaFile | None:
    """``audio_mp3.mp3``, ``video_mp4-720p.mp4``, ``transcript-uk.vtt``, ``artwork.jpg`` of a live owner
    (``members``: of an item a member may fetch, members.delivery)."""
    if not _NAME.match(name) or owner not in {"e", "v", "s"}:
        return None
    if owner == "s" or name.startswith("artwork."):
        return resolve_artwork(owner, owner_id, name, members=members)
    episode_id, video_id = _ids(owner, owner_id)
    transcript_match = _TRANSCRIPT.match(name)
    if transcript_match:
        transcript = selectors.live_transcript(
            episode_id=episode_id, video_id=video_id, language=transcript_match["language"],
            fmt=transcript_match["fmt"], members=members,
        )  # fmt: skip
        if transcript is None:
            return None
        mime = transcript.mime_type
        return MediaFile(transcript.storage_key, f"{mime}; charset=utf-8" if mime.startswith("text/") else mime)
    stem = PurePosixPath(name).stem
    kind, _, variant = stem.partition("-")
    if kind == Rendition.Kind.HLS or kind not in Rendition.Kind.values:
        return None
    rendition = selectors.live_rendition(
        episode_id=episode_id, video_id=video_id, kind=kind, variant=variant, members=members
    )
    # The extension must be the one the feed advertises (rendition_path): one URL per file, no aliases.
    if rendition is None or rendition_path(rendition).rsplit("/", 1)[-1] != name:
        return None
    return MediaFile(rendition.storage_key, rendition.mime_type, rendition)


def resolve_artwork(owner: str, owner_id: int, name: str, *, members: bool = False) -> MediaFile | None:
    """A show's (always public) or a live episode's artwork image."""
    image = None
    if owner == "s":
        show = Show.objects.filter(pk=owner_id).only("artwork").first()
        image = show.artwork if show is not None else None
    elif owner == "e":
        episode = selectors.live_episode(episode_id=owner_id, members=members)
        image = episode.artwork if episode is not None else None
    if not image or not image.name or PurePosixPath(name).stem != "artwork":
        return None
    content_type = mimetypes.guess_type(image.name)[0] or "application/octet-stream"
    return MediaFile(image.name, content_type)


def resolve_hls(owner: str, owner_id: int, path: str, *, members: bool = False) -> MediaFile | None:
    """A file of the current HLS package: only names inside the master playlist's folder, never ``..``."""
    parts = path.split("/")
    if owner not in {"e", "v"} or len(parts) > 6 or not all(_HLS_PART.match(part) for part in parts):
        return None
    content_type = HLS_TYPES.get(PurePosixPath(parts[-1]).suffix.lower())
    if content_type is None:
        return None
    episode_id, video_id = _ids(owner, owner_id)
    master = selectors.live_rendition(
        episode_id=episode_id, video_id=video_id, kind=Rendition.Kind.HLS, variant="", members=members
    )
    if master is None:
        return None
    folder = PurePosixPath(master.storage_key).parent
    return MediaFile(str(folder.joinpath(*parts)), content_type)


def _not_found() -> HttpResponse:
    return HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8")


def _record(request: HttpRequest, media: MediaFile, sent: ByteRange | None) -> None:
    """Count the request if it can count; failures are logged, never raised: the download goes on."""
    if media.rendition is None or sent is None:
        return
    try:
        hit = analytics.download_hit(request, rendition=media.rendition, sent=sent, when=timezone.now())
        if hit is not None:
            from feeds.tasks import record_download

            # retry=False: if the broker is down, drop this hit at once instead of stalling the listener.
            record_download.apply_async(args=(hit.as_dict(),), retry=False)
    except Exception:  # noqa: BLE001 - counting must never break a download
        logger.warning("download not recorded", exc_info=True)


def _requested_range(request: HttpRequest, size: int) -> ByteRange | None:
    """The bytes a redirected client is about to fetch (S3 mode: we never see the body go out)."""
    if request.method != "GET":
        return None
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        return None
    return byte_range or (ByteRange(0, size - 1) if size else None)


def _proxy_playlist(request: HttpRequest, media: MediaFile) -> HttpResponse:
    with storage().open(media.key, "rb") as fh:
        body = fh.read(PLAYLIST_MAX_BYTES + 1)
    if len(body) > PLAYLIST_MAX_BYTES:
        return HttpResponse("Playlist too large.\n", status=502, content_type="text/plain")
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=media.content_type)
    response["Content-Length"] = str(len(body))
    response["Cache-Control"] = "public, max-age=60"
    return response


def deliver(request: HttpRequest, media: MediaFile | None) -> HttpResponseBase:
    """Serve (local) or redirect to (S3) a resolved file, recording a download when it counts."""
    if media is None:
        return _not_found()
    try:
        response = _deliver(request, media)
    except FileNotFoundError:
        return _not_found()
    except OSError:
        logger.exception("media storage failed for %s", media.key)
        return HttpResponse("Media storage is unavailable; try again.\n", status=503, content_type="text/plain")
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def _deliver(request: HttpRequest, media: MediaFile) -> HttpResponseBase:
    if settings.S3_BUCKET:
        if media.key.endswith(".m3u8"):
            return _proxy_playlist(request, media)
        if media.rendition is not None:
            _record(request, media, _requested_range(request, media.rendition.byte_size))
        redirect = HttpResponseRedirect(media_redirect_url(media.key, content_type=media.content_type))
        redirect["Cache-Control"] = "no-store"  # presigned URLs expire; the redirect must not outlive them
        return redirect
    st = storage()
    size = st.size(media.key)
    modified = st.get_modified_time(media.key)
    etag = f'"{size:x}-{int(modified.timestamp() * 1000):x}"'
    response, sent = serve_file(
        request, opener=lambda: st.open(media.key, "rb"), size=size, modified=modified,
        content_type=media.content_type, etag=etag, cache_control=MEDIA_CACHE_CONTROL,
    )  # fmt: skip
    _record(request, media, sent)
    return response
