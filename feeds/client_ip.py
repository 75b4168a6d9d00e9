"""The client's IP address for download counting: REMOTE_ADDR, or X-Forwarded-For behind a trusted proxy.

    ip = client_ip(request)      # "203.0.113.9"

Only a peer in TRUSTED_PROXIES may speak for the client. X-Forwarded-For is read from the right: trusted hops
are skipped and the first address that is not trusted is the client; anything left of it may have been written
by the client itself. An entry that is not an IP address ends the walk, and the last address known to be real
is used: a malformed header never raises, it only makes the counting coarser.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from django.conf import settings
from django.http import HttpRequest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# Proxies append one entry each; a longer header is someone padding it (the right-most ones still decide).
MAX_HOPS = 32


def parse_address(value: str) -> Address | None:
    """An address as proxies write it (``203.0.113.9``, ``203.0.113.9:443``, ``[2001:db8::1]:443``), or None."""
    value = value.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:203.0.113.9 is 203.0.113.9 (dual-stack sockets)
    return address


def _trusted(address: Address, networks: Sequence[Network]) -> bool:
    return any(address in network for network in networks)


def client_ip(request: HttpRequest) -> str:
    """The address of whoever made the request, as far as the trusted proxies can vouch for it."""
    remote = str(request.META.get("REMOTE_ADDR", ""))
    networks: Sequence[Network] = settings.TRUSTED_PROXIES
    if not networks:
        return remote
    current = parse_address(remote)
    if current is None or not _trusted(current, networks):
        return remote
    forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
    for entry in reversed(forwarded.split(",")[-MAX_HOPS:]):
        address = parse_address(entry)
        if address is None:
            break
        current = address
        if not _trusted(address, networks):
            break
    return str(current)
