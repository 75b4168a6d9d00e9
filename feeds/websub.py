"""WebSub (W3C) publisher side: tell the hub a feed changed, and find feeds that changed since the last scan.

    websub_publish(feed_url="https://media.example.com/feeds/ukraine-insights.xml")   # raises WebSubError
    show_ids = websub_scan()       # feeds changed since the previous scan (scheduled episodes included)
"""

from __future__ import annotations

import urllib.error
import urllib.request
from datetime import datetime, timedelta
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from feeds.models import WebSubCursor
from feeds.selectors import feed_changes_between

TIMEOUT_SECONDS = 10
CURSOR = "websub"
# Leave room for transactions still committing rows stamped just before the scan.
SETTLE = timedelta(seconds=5)
FIRST_LOOKBACK = timedelta(hours=1)


class WebSubError(Exception):
    """The hub could not be reached or refused the ping (worth retrying)."""


def websub_publish(*, feed_url: str, hub_url: str | None = None) -> int:
    """POST hub.mode=publish for ``feed_url`` to the hub; returns the hub's status code (2xx)."""
    hub = hub_url or settings.WEBSUB_HUB_URL
    if urlsplit(hub).scheme not in {"http", "https"}:
        raise WebSubError(f"WEBSUB_HUB_URL must be an http(s) URL, not {hub!r}")
    body = urlencode({"hub.mode": "publish", "hub.url": feed_url}).encode()
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        hub, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        raise WebSubError(f"The hub answered {exc.code} for {feed_url}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise WebSubError(f"The hub at {hub} could not be reached: {exc}") from exc
    if not 200 <= status < 300:
        raise WebSubError(f"The hub answered {status} for {feed_url}")
    return status


def websub_scan(*, now: datetime | None = None) -> list[int]:
    """Advance the cursor and return the shows whose feed changed since it (episodes going live included)."""
    until = (now or timezone.now()) - SETTLE
    with transaction.atomic():
        cursor, _ = WebSubCursor.objects.select_for_update().get_or_create(
            name=CURSOR, defaults={"scanned_until": until - FIRST_LOOKBACK}
        )
        if cursor.scanned_until >= until:
            return []
        show_ids = feed_changes_between(since=cursor.scanned_until, until=until)
        cursor.scanned_until = until
        cursor.save(update_fields=["scanned_until"])
    return show_ids
