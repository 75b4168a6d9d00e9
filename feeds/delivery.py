"""The stable media prefix ``/d/``: resolve a public name to the current stored file, count, then serve or redirect.

    /d/e/12/audio_mp3.3f1c0a9b52de.mp3   the MP3 rendition of live episode 12 whose sha256 starts 3f1c0a9b52de
    /d/v/3/video_mp4-720p.0b1d2e3f4a5b.mp4   a video rendition
    /d/v/3/hls-5e0c1d2a3b4f/v0/seg_001.m4s   a file of its HLS package (the folder is versioned per processing run)
    /d/e/12/transcript-uk.vtt      a transcript;  /d/s/4/artwork.jpg  a show's artwork

Only live (published, publish time passed) episodes and videos resolve; anything else is a 404 that says no
more than "not found". Local mode serves the file (feeds.serving); S3 mode redirects to the CDN or a presigned
URL (episodes.storage_urls), except HLS playlists, which are proxied so their relative URIs stay under /d/.

A URL names one version of a file's bytes (episodes.links.file_name), so what a cache holds for it is always
right. When the bytes change (tags rewritten, media re-processed), the rendition gets a new URL; the old one
(and the unversioned one of older feeds) answers 302 to the current URL instead of serving other bytes under it:
a client's enclosure length, Range requests and If-Range validators always refer to the bytes of the URL it asked.
Downloads carry Content-Disposition with a file name made from the show and episode titles (RFC 6266).
"""

from __future__ import annotations

import dataclasses
import logging
import mimetypes
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.utils import timezone

from episodes.links import VERSION_LENGTH, hls_folder, rendition_path, rendition_url
from episodes.models import Rendition, Show
from episodes.storage import storage
from episodes.storage_urls import media_redirect_url, presigned_get_url
from feeds import analytics, hit_sender, selectors
from feeds.analytics import DownloadHit
from feeds.serving import ByteRange, Unsatisfiable, parse_range, serve_file

logger = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,120}$")
_HLS_PART = re.compile(r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,120}$")
_TRANSCRIPT = re.compile(r"^transcript-(?P<language>[A-Za-z0-9\-]{1,16})\.(?P<fmt>vtt|srt|json)$")
_VERSION = re.compile(rf"^[0-9a-f]{{{VERSION_LENGTH}}}$")
# Characters no file system or browser accepts in a saved file's name.
_UNSAFE_NAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
_NOT_ASCII_NAME = re.compile(r"[^A-Za-z0-9._ ()\-]+")
REDIRECT_CACHE_CONTROL = "public, max-age=300"
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
PLAYLIST_CACHE_CONTROL = "public, max-age=60"
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
    filename: str | None = None  # the name a download is saved under (Content-Disposition)
    ascii_stem: str = "download"  # the name's stand-in for clients without filename* when ASCII keeps too little
    redirect: str | None = None  # set instead of serving: the URL of the current version of the file

    @property
    def etag(self) -> str | None:
        """A strong validator from the file's sha256 (the same on every web process and after a copy)."""
        sha = self.rendition.sha256 if self.rendition is not None else ""
        return f'"{sha[:32]}"' if sha else None


def download_name(*parts: str, suffix: str, fallback: str) -> str:
    """``Show – Episode.mp3`` from titles: characters file systems refuse removed, at most ~150 characters."""
    stem = " - ".join(" ".join(_UNSAFE_NAME.sub(" ", part).split()) for part in parts if part.strip())
    stem = stem[:150].strip(" .") or fallback
    return f"{stem}{suffix}"


def content_disposition(filename: str, *, fallback: str) -> str:
    """RFC 6266 ``inline`` with the name: an ASCII ``filename`` for old clients and, when the name is not plain
    ASCII, ``filename*`` in UTF-8 (RFC 8187) for the others. ``fallback`` names the file when the ASCII form of
    the name keeps too little of it (a Cyrillic title)."""
    stem, dot, suffix = filename.rpartition(".")
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    ascii_stem = " ".join(_NOT_ASCII_NAME.sub("-", ascii_stem).split()).strip(" .-")
    if sum(ch.isalnum() for ch in ascii_stem) < max(3, sum(ch.isalnum() for ch in stem) // 2):
        ascii_stem = fallback
    header = f'inline; filename="{ascii_stem}{dot}{suffix}"'
    if not filename.isascii() or ascii_stem != stem:
        header += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return header


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
        # Text formats (WebVTT, SubRip) say their charset: an SRT read as Latin-1 garbles every Cyrillic line.
        textual = mime.startswith("text/") or transcript.format == "srt"
        media = MediaFile(transcript.storage_key, f"{mime}; charset=utf-8" if textual else mime)
        owner_row = transcript.episode or transcript.video
        if owner_row is None:
            return media
        stem = f"{owner}-{owner_id}-transcript-{transcript.language}"
        name = download_name(owner_row.show.title, owner_row.title, f"({transcript.language})",
                             suffix=f".{transcript.format}", fallback=stem)  # fmt: skip
        return dataclasses.replace(media, filename=name, ascii_stem=stem)
    path = PurePosixPath(name)
    stem, _, version = path.stem.rpartition(".") if "." in path.stem else (path.stem, "", "")
    if version and not _VERSION.match(version):
        return None
    kind, _, variant = stem.partition("-")
    if kind == Rendition.Kind.HLS or kind not in Rendition.Kind.values:
        return None
    rendition = selectors.live_rendition(
        episode_id=episode_id, video_id=video_id, kind=kind, variant=variant, members=members
    )
    if rendition is None:
        return None
    current = rendition_path(rendition).rsplit("/", 1)[-1]
    if current != name:
        # The same file under another version (or none: feeds from before versions): send the client to the
        # current bytes rather than serve them under a URL a cache may hold with other bytes. Other extensions
        # are not aliases: 404.
        if PurePosixPath(current).suffix != path.suffix:
            return None
        return MediaFile(rendition.storage_key, rendition.mime_type, redirect=rendition_url(rendition))
    return _named(rendition)


def _named(rendition: Rendition) -> MediaFile:
    """The rendition's file, to be saved as ``Show - Episode[ - variant].ext``."""
    media = MediaFile(rendition.storage_key, rendition.mime_type, rendition)
    owner_row = rendition.episode or rendition.video
    if owner_row is None:
        return media
    stem = f"{'episode' if rendition.episode_id else 'video'}-{owner_row.pk}-{rendition.kind}"
    stem += f"-{rendition.variant}" if rendition.variant else ""
    suffix = PurePosixPath(rendition.storage_key).suffix
    name = download_name(owner_row.show.title, owner_row.title, rendition.variant, suffix=suffix, fallback=stem)
    return dataclasses.replace(media, filename=name, ascii_stem=stem)


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


def resolve_hls(
    owner: str, owner_id: int, path: str, version: str | None = None, *, members: bool = False
) -> MediaFile | None:
    """A file of the current HLS package: only names inside the master playlist's folder, never ``..``.

    ``version`` is the package's folder version (episodes.links.hls_folder). The master playlist under another
    version, or none, redirects to the current one; other files of an old package are gone (404: a player reloads
    the master), while unversioned paths (players that loaded a master from before versions) get the current files.
    """
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
    current = hls_folder(master.storage_key).removeprefix("hls-")
    if version != current:
        if path == PurePosixPath(master.storage_key).name:
            return MediaFile(master.storage_key, content_type, redirect=rendition_url(master))
        if version is not None:
            return None
    return MediaFile(str(folder.joinpath(*parts)), content_type)


def _disposition(media: MediaFile) -> str | None:
    return content_disposition(media.filename, fallback=media.ascii_stem) if media.filename else None


def _not_found() -> HttpResponse:
    return HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8")


def _listener(request: HttpRequest, media: MediaFile) -> DownloadHit | None:
    """Who is fetching a counted file (None when the request can never count); failures are logged, not raised."""
    if media.rendition is None:
        return None
    try:
        return analytics.listener_hit(request, rendition=media.rendition, when=timezone.now())
    except Exception:  # noqa: BLE001 - counting must never break a download
        logger.warning("download not recorded", exc_info=True)
        return None


def _record(listener: DownloadHit | None, sent: ByteRange | None) -> None:
    """Hand the listener's hit for ``sent`` to the sender thread (feeds.hit_sender): nothing waits on the broker."""
    if listener is not None and sent is not None:
        hit_sender.submit(listener.covering(sent))


def _requested_range(request: HttpRequest, size: int) -> ByteRange | None:
    """The bytes a redirected client is about to fetch (S3 mode: we never see the body go out)."""
    if request.method != "GET":
        return None
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        return None
    return byte_range or (ByteRange(0, size - 1) if size else None)


@dataclass(frozen=True)
class Audience:
    """Who a file is delivered to: the public (cacheable, the CDN when there is one), or members (private, and in
    S3 mode a short-lived presigned URL, so a revoked member's player cannot keep fetching). ``url`` turns one of
    our public URLs (a redirect to a file's current version) into the audience's own."""

    cache_control: str = MEDIA_CACHE_CONTROL
    playlist_cache_control: str = PLAYLIST_CACHE_CONTROL
    presign_seconds: int | None = None  # S3: always presign, for this long (never the CDN)
    url: Callable[[str], str] = str


PUBLIC = Audience()


def _proxy_playlist(request: HttpRequest, media: MediaFile, audience: Audience = PUBLIC) -> HttpResponse:
    with storage().open(media.key, "rb") as fh:
        body = fh.read(PLAYLIST_MAX_BYTES + 1)
    if len(body) > PLAYLIST_MAX_BYTES:
        return HttpResponse("Playlist too large.\n", status=502, content_type="text/plain")
    response = HttpResponse(b"" if request.method == "HEAD" else body, content_type=media.content_type)
    response["Content-Length"] = str(len(body))
    response["Cache-Control"] = audience.playlist_cache_control
    return response


def deliver(request: HttpRequest, media: MediaFile | None, audience: Audience = PUBLIC) -> HttpResponseBase:
    """Serve (local) or redirect to (S3) a resolved file, recording a download when it counts."""
    if media is None:
        return _not_found()
    if media.redirect is not None:
        moved = HttpResponseRedirect(audience.url(media.redirect))
        moved["Cache-Control"] = REDIRECT_CACHE_CONTROL if audience is PUBLIC else audience.cache_control
        for name, value in CORS_HEADERS.items():
            moved[name] = value
        return moved
    try:
        response = _deliver(request, media, audience)
    except FileNotFoundError:
        return _not_found()
    except OSError:
        logger.exception("media storage failed for %s", media.key)
        return HttpResponse("Media storage is unavailable; try again.\n", status=503, content_type="text/plain")
    for name, value in CORS_HEADERS.items():
        response[name] = value
    return response


def _deliver(request: HttpRequest, media: MediaFile, audience: Audience) -> HttpResponseBase:
    if settings.S3_BUCKET:
        if media.key.endswith(".m3u8"):
            return _proxy_playlist(request, media, audience)
        if media.rendition is not None:
            # We never see the body leave S3 or the CDN: count the range the client asked for (docs/measurement.md).
            _record(_listener(request, media), _requested_range(request, media.rendition.byte_size))
        disposition = _disposition(media)
        if audience.presign_seconds is not None:
            location = presigned_get_url(media.key, expires=audience.presign_seconds, content_type=media.content_type,
                                         content_disposition=disposition)  # fmt: skip
        else:
            location = media_redirect_url(media.key, content_type=media.content_type, content_disposition=disposition)
        redirect = HttpResponseRedirect(location)
        redirect["Cache-Control"] = "no-store"  # presigned URLs expire; the redirect must not outlive them
        return redirect
    st = storage()
    size = st.size(media.key)
    modified = st.get_modified_time(media.key)
    etag = media.etag or f'"{size:x}-{int(modified.timestamp() * 1000):x}"'
    disposition = _disposition(media)
    listener = _listener(request, media)
    response, _ = serve_file(
        request, opener=lambda: st.open(media.key, "rb"), size=size, modified=modified,
        content_type=media.content_type, etag=etag, cache_control=audience.cache_control,
        extra_headers={"Content-Disposition": disposition} if disposition else None,
        # Count what the server actually wrote, reported when it closes the response (a dropped listener counts
        # only the bytes that went out).
        on_sent=(lambda sent: _record(listener, sent)) if listener is not None else None,
    )  # fmt: skip
    if not disposition and "Content-Disposition" in response:
        del response["Content-Disposition"]  # FileResponse's guess (the storage key's name) says nothing
    return response
