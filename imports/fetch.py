"""Fetch a URL from the open internet safely: http(s) only, public addresses only, bounded, redirects re-checked.

    result = fetch(url, max_bytes=20 * 1024**2, etag='"abc"')     # FetchResult(status=200|304, body, …)
    with open_stream(url, offset=1024) as stream: ...            # a streamed download (enclosures), resumable

Every host is resolved once and each of its addresses checked (private, loopback, link-local, multicast, reserved
and unspecified addresses are refused unless IMPORT_ALLOW_PRIVATE_NETWORKS is on); the connection then goes to the
checked address (no second DNS answer can swap it), with TLS verified against the host name. Redirects are
followed by hand, up to MAX_REDIRECTS, and each hop is checked again. Gzip bodies are decompressed with the same
byte bound (no gzip bomb gets past it).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 8
TIMEOUT = 30.0
CHUNK = 64 * 1024
USER_AGENT = "MediaHub-Importer/1.0 (+podcast import)"


class FetchError(Exception):
    """The URL could not be fetched safely; ``permanent`` errors are not worth retrying."""

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass
class FetchResult:
    status: int
    body: bytes
    url: str  # after redirects
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names


def _check_address(address: str) -> None:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    unsafe = ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
    if (unsafe or ip.is_unspecified) and not settings.IMPORT_ALLOW_PRIVATE_NETWORKS:
        raise FetchError(f"Refusing to fetch from a non-public address ({ip}).")


def resolve(host: str, port: int) -> str:
    """The address to connect to: every address the name resolves to must be public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"Cannot resolve {host!r}: {exc}", permanent=False) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses:
        raise FetchError(f"{host!r} has no address.", permanent=False)
    for address in addresses:
        _check_address(address)
    return addresses[0]


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str) -> None:
        super().__init__(host, port, timeout=TIMEOUT, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)  # type: ignore[attr-defined]


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise FetchError(f"Only http(s) URLs can be imported, not {url[:100]!r}.")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port)
    cls = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return cls(parts.hostname, port, address), target


@contextmanager
def open_stream(url: str, *, headers: dict[str, str] | None = None) -> Iterator[tuple[http.client.HTTPResponse, str]]:
    """The response to GET ``url`` after following (and checking) redirects; yields (response, final URL)."""
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        conn, target = _connection(current)
        try:
            conn.request("GET", target, headers={"User-Agent": USER_AGENT, **(headers or {})})
            response = conn.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise FetchError(f"Could not fetch {current[:200]}: {exc}", permanent=False) from exc
        if response.status in {301, 302, 303, 307, 308}:
            location = response.getheader("Location")
            conn.close()
            if not location:
                raise FetchError("A redirect without a Location.")
            current = urljoin(current, location)
            continue
        try:
            yield response, current
        finally:
            conn.close()
        return
    raise FetchError(f"More than {MAX_REDIRECTS} redirects.")


def read_bounded(response: http.client.HTTPResponse, max_bytes: int) -> bytes:
    """The body, gunzipped if it says so, refusing more than ``max_bytes`` (compressed or not)."""
    gz = (response.getheader("Content-Encoding") or "").strip().lower() == "gzip"
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
    out = bytearray()
    while True:
        try:
            chunk = response.read(CHUNK)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchError(f"The connection broke: {exc}", permanent=False) from exc
        if not chunk:
            break
        data = inflater.decompress(chunk, max_bytes + 1 - len(out)) if inflater else chunk
        out += data
        if len(out) > max_bytes:
            raise FetchError(f"The document is larger than {max_bytes} bytes.")
    return bytes(out)


def fetch(url: str, *, max_bytes: int, etag: str = "", last_modified: str = "") -> FetchResult:
    """GET a document (a feed, a chapters file): 200 with the body, or 304 when the validators still match."""
    headers = {"Accept-Encoding": "gzip"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    with open_stream(url, headers=headers) as (response, final):
        names = {k.lower(): v for k, v in response.getheaders()}
        if response.status == 304:
            return FetchResult(304, b"", final, names)
        if response.status != 200:
            raise FetchError(f"{final[:200]} answered {response.status}.", permanent=response.status < 500)
        return FetchResult(200, read_bounded(response, max_bytes), final, names)
