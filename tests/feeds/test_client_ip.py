"""The listener's address behind trusted proxies: X-Forwarded-For only from a trusted peer, right-most untrusted."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory

from feeds.client_ip import client_ip
from feeds.models import DailyDownloads
from media_hub.settings import env_networks
from tests.feeds.factories import live_episode

OVERCAST = "Overcast/3.0 (+http://overcast.fm/; iOS podcast app)"
PROXIES = "10.0.0.0/8, 192.0.2.7, 2001:db8::/32"


def ip(remote: str, forwarded: str | None = None) -> str:
    extra: dict[str, Any] = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(RequestFactory().get("/", **extra))


@pytest.fixture
def proxies(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", PROXIES)
    settings.TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")


def test_without_trusted_proxies_the_header_is_ignored(settings: Any) -> None:
    settings.TRUSTED_PROXIES = ()
    assert ip("10.1.2.3", "203.0.113.9") == "10.1.2.3"


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("10.1.2.3", "203.0.113.9", "203.0.113.9"),
        ("192.0.2.7", "203.0.113.9", "203.0.113.9"),
        # The client wrote the left-most entry itself: the right-most untrusted address is the one a proxy saw.
        ("10.1.2.3", "198.51.100.1, 203.0.113.9", "203.0.113.9"),
        ("10.1.2.3", "203.0.113.9, 10.9.9.9, 192.0.2.7", "203.0.113.9"),
        ("10.1.2.3", "203.0.113.9:51234", "203.0.113.9"),
        ("10.1.2.3", "[2001:db9::5]:443", "2001:db9::5"),
        ("10.1.2.3", "2001:db9::5", "2001:db9::5"),
        ("2001:db8::1", "203.0.113.9", "203.0.113.9"),
        ("::ffff:10.1.2.3", "203.0.113.9", "203.0.113.9"),  # a trusted peer seen through a dual-stack socket
        # A peer outside the list may not speak for anyone.
        ("203.0.113.50", "198.51.100.1", "203.0.113.50"),
        # Only trusted hops: the left-most is as far as anyone can tell.
        ("10.1.2.3", "10.4.4.4", "10.4.4.4"),
        # Malformed: never an error, the last address known to be real.
        ("10.1.2.3", "", "10.1.2.3"),
        ("10.1.2.3", "unknown", "10.1.2.3"),
        ("10.1.2.3", "203.0.113.9, garbage", "10.1.2.3"),
        ("10.1.2.3", "garbage, 203.0.113.9", "203.0.113.9"),
        ("10.1.2.3", "203.0.113.9,, 10.4.4.4", "10.4.4.4"),
        ("10.1.2.3", "\x00\xff" * 3000, "10.1.2.3"),
        ("", "203.0.113.9", ""),
        ("not-an-ip", "203.0.113.9", "not-an-ip"),
    ],
)
def test_forwarded_for(proxies: None, remote: str, forwarded: str, expected: str) -> None:
    assert ip(remote, forwarded) == expected


def test_padding_the_header_does_not_matter(proxies: None) -> None:
    assert ip("10.1.2.3", ", ".join(["198.51.100.1"] * 10_000 + ["203.0.113.9"])) == "203.0.113.9"


def test_setting_is_parsed_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", " 10.0.0.1/8 , ::1 ")
    assert env_networks("TRUSTED_PROXIES") == (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1"))
    monkeypatch.setenv("TRUSTED_PROXIES", "")
    assert env_networks("TRUSTED_PROXIES") == ()
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, lb.internal")
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES.*lb.internal"):
        env_networks("TRUSTED_PROXIES")


@pytest.mark.django_db
def test_listeners_behind_the_load_balancer_count_apart(client: Client, show: Any, proxies: None) -> None:
    url = f"/d/e/{live_episode(show, 1).pk}/audio_mp3.mp3"
    for forwarded in ("203.0.113.9", "203.0.113.10", "203.0.113.9", "evil, 203.0.113.10, 10.0.0.9"):
        response: Any = client.get(url, HTTP_USER_AGENT=OVERCAST, REMOTE_ADDR="10.0.0.2",
                                   HTTP_X_FORWARDED_FOR=forwarded)  # fmt: skip
        assert response.status_code == 200
        b"".join(response.streaming_content)
    assert sum(DailyDownloads.objects.values_list("downloads", flat=True)) == 2
    # A malformed header still serves the file.
    broken: Any = client.get(url, HTTP_USER_AGENT=OVERCAST, REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="[::1")
    assert broken.status_code == 200
