"""Serve a stored file over HTTP with HEAD, Range (RFC 9110 §14), conditional requests and streaming.

    response, sent = serve_file(request, opener=lambda: storage.open(key, "rb"), size=size, modified=mtime,
                                content_type="audio/mpeg", etag='"abc"')

``sent`` is the byte range the body carries (None for HEAD, 304, 412 and 416). With ``on_sent``, the body
reports instead what the server actually wrote: ``on_sent(ByteRange)`` is called when the server closes the
response, with the bytes it took before the client left (a chunk counts once the server asks for the next one,
i.e. once it was written) — for download counting. The file is read in 64 KiB chunks, never whole; full-file
bodies without ``on_sent`` go through FileResponse so a WSGI server can use sendfile. Used by the enclosure prefix
and the embeds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO

from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import http_date, parse_http_date_safe

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class ByteRange:
    """An inclusive byte range inside a file of known size."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


class Unsatisfiable(Exception):
    """No requested range overlaps the file: answer 416."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The range to serve for a Range header, or None to serve the whole file.

    Headers we do not understand are ignored as RFC 9110 asks; several ranges are answered with the whole
    file (allowed, and simpler for clients than multipart/byteranges).
    """
    if not header:
        return None
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or not spec or "," in spec:
        return None
    match = _RANGE.match(spec)
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid syntax: ignore the header
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))


def _iter_range(fh: IO[bytes], byte_range: ByteRange) -> Iterator[bytes]:
    try:
        fh.seek(byte_range.start)
        remaining = byte_range.length
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()


class SentBytes:
    """A response body that tells, when the server closes it, how many of its bytes the server wrote.

    A WSGI server asks for the next chunk only after writing the previous one, so a chunk is counted when the next
    one is asked for (or the body is exhausted): the chunk in hand when a listener drops the connection is not.
    """

    def __init__(self, chunks: Iterator[bytes], start: int, on_sent: Callable[[ByteRange], None]) -> None:
        self._chunks = chunks
        self._start = start
        self._on_sent = on_sent
        self._written = 0
        self._pending = 0
        self._closed = False

    def __iter__(self) -> SentBytes:
        return self

    def __next__(self) -> bytes:
        self._written += self._pending
        self._pending = 0
        chunk = next(self._chunks)  # StopIteration: everything handed out so far was written
        self._pending = len(chunk)
        return chunk

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        if self._written:
            try:
                self._on_sent(ByteRange(self._start, self._start + self._written - 1))
            except Exception:  # noqa: BLE001 - counting must never break a response
                logger.warning("could not report the bytes sent", exc_info=True)


def _if_range_matches(request: HttpRequest, etag: str, modified: int) -> bool:
    """If-Range: serve the range only when the client's copy is still current (else the whole file)."""
    value = request.headers.get("If-Range")
    if not value:
        return True
    value = value.strip()
    if value.startswith(('"', "W/")):
        return not value.startswith("W/") and value == etag  # strong comparison only
    date = parse_http_date_safe(value)
    return date is not None and date == modified


def serve_file(
    request: HttpRequest,
    *,
    opener: Callable[[], IO[bytes]],
    size: int,
    modified: datetime,
    content_type: str,
    etag: str,
    cache_control: str = "public, max-age=3600",
    extra_headers: dict[str, str] | None = None,
    on_sent: Callable[[ByteRange], None] | None = None,
) -> tuple[HttpResponseBase, ByteRange | None]:
    """Answer GET or HEAD for a file; returns the response and the range its body carries."""
    modified_ts = int(modified.timestamp())
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": etag,
        "Last-Modified": http_date(modified_ts),
        "Cache-Control": cache_control,
        **(extra_headers or {}),
    }
    conditional = get_conditional_response(request, etag=etag, last_modified=modified_ts)
    if conditional is not None:  # 304 Not Modified or 412 Precondition Failed
        for name, value in headers.items():
            conditional.headers.setdefault(name, value)
        return conditional, None
    try:
        byte_range = parse_range(request.headers.get("Range"), size)
    except Unsatisfiable:
        response = HttpResponse(
            f"Range not satisfiable: the file is {size} bytes.\n", status=416, content_type="text/plain"
        )
        response["Content-Range"] = f"bytes */{size}"
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response, None
    if byte_range is not None and not _if_range_matches(request, etag, modified_ts):
        byte_range = None

    head = request.method == "HEAD"
    response_out: HttpResponseBase
    if byte_range is None:
        length = size
        if head:
            response_out = HttpResponse(b"", content_type=content_type)
        elif on_sent is not None and size:
            body = SentBytes(_iter_range(opener(), ByteRange(0, size - 1)), 0, on_sent)
            response_out = StreamingHttpResponse(body, content_type=content_type)
        else:
            response_out = FileResponse(opener(), content_type=content_type)
    else:
        length = byte_range.length
        if head:
            response_out = HttpResponse(b"", content_type=content_type, status=206)
        else:
            chunks: Iterator[bytes] = _iter_range(opener(), byte_range)
            if on_sent is not None:
                chunks = SentBytes(chunks, byte_range.start, on_sent)
            response_out = StreamingHttpResponse(chunks, content_type=content_type, status=206)
        response_out["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    for name, value in headers.items():
        response_out[name] = value
    response_out["Content-Length"] = str(length)
    if head:
        return response_out, None
    return response_out, byte_range or ByteRange(0, size - 1) if size else None
