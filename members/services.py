"""Writes and reads for members: grant, revoke, rotate, look a token up, note where it is used, spot sharing.

    member = member_grant(external_id="m_8f2c…")          # idempotent; a revoked member gets a new token
    member_revoke(external_id="m_8f2c…")                  # the token stops working at the next request
    member = active_member(token)                         # None for unknown and revoked tokens

Every call that applies a membership-system event may pass ``event_at``: an event older than the last one applied
to that member changes nothing (a late retry cannot undo a newer revoke).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, transaction
from django.db.models import Count, Q
from django.http import HttpRequest
from django.utils import timezone

from episodes.services.errors import NotFound
from feeds.client_ip import client_ip
from feeds.user_agents import app_name
from members.models import Member, MemberUse

TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters
TOKEN_LENGTH = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def member_path_prefix(token: str) -> str:
    """``/members/<token>``: put before a public path (``/feeds/…``, ``/d/…``) to make it the member's."""
    return f"/members/{token}"


def member_url(url: str, token: str) -> str:
    """The member's copy of a public feed or media URL: the one place the token goes into URLs.

    ``https://host/d/e/12/audio_mp3.mp3`` → ``https://host/members/<token>/d/e/12/audio_mp3.mp3``. Whatever the
    path after the public base (versioned media names, query strings) is kept as it is.
    """
    public = settings.PUBLIC_BASE_URL
    if not url.startswith(public + "/"):
        return url
    return f"{public}{member_path_prefix(token)}{url[len(public) :]}"


def member_feed_url(token: str, slug: str) -> str:
    from episodes.links import show_feed_url

    return member_url(show_feed_url(slug), token)


def _newer(member: Member, event_at: datetime | None) -> bool:
    return event_at is None or member.event_at is None or event_at >= member.event_at


@transaction.atomic
def member_grant(*, external_id: str, event_at: datetime | None = None) -> Member:
    """Make ``external_id`` an active member (created if new); a revoked member gets a new token."""
    now = timezone.now()
    member = Member.objects.select_for_update().filter(external_id=external_id).first()
    if member is None:
        return Member.objects.create(external_id=external_id, token=new_token(), granted_at=now, event_at=event_at)
    if not _newer(member, event_at) or member.active:
        return member
    member.active, member.revoked_at, member.granted_at = True, None, now
    member.token = new_token()
    member.event_at = event_at or member.event_at
    member.save()
    return member


@transaction.atomic
def member_revoke(*, external_id: str, event_at: datetime | None = None) -> Member:
    """Revoke a member: their feed and media URLs answer 404 from the next request on (no cache keeps them)."""
    member = Member.objects.select_for_update().filter(external_id=external_id).first()
    if member is None:
        # Remember the revocation, so an older grant arriving late does not make them a member.
        return Member.objects.create(
            external_id=external_id, token=new_token(), active=False, granted_at=timezone.now(),
            revoked_at=timezone.now(), event_at=event_at,
        )  # fmt: skip
    if not _newer(member, event_at) or not member.active:
        return member
    member.active, member.revoked_at = False, timezone.now()
    member.event_at = event_at or member.event_at
    member.save()
    return member


@transaction.atomic
def member_rotate_token(*, external_id: str) -> Member:
    """Give an active member a new token (their old URLs stop working): after a leak the member was not behind."""
    member = Member.objects.select_for_update().filter(external_id=external_id, active=True).first()
    if member is None:
        raise NotFound("No active member with this id.")
    member.token = new_token()
    member.save(update_fields=["token", "updated_at"])
    return member


# Standard SQL quoting, the same on PostgreSQL and SQLite (the two databases Media Hub runs on).
ACTIVE_MEMBER_SQL = 'SELECT "id" FROM "members_member" WHERE "token" = %s AND "active" = %s'


def active_member(token: str) -> Member | None:
    """The active member whose token this is, read from the database on every call (revocation is immediate).

    Every member request (feed, media, HLS segment) asks this, so it is one plain query on the token's unique
    index, not an ORM query compiled each time: compiling it was most of what a warm member feed cost beyond the
    public feed (bench/bench_members.py). The member comes back with only ``pk`` and ``token`` loaded.
    """
    if len(token) != TOKEN_LENGTH:
        return None
    with connection.cursor() as cursor:
        cursor.execute(ACTIVE_MEMBER_SQL, [token, True])
        row = cursor.fetchone()
    if row is None:
        return None
    return Member.from_db(DEFAULT_DB_ALIAS, ["id", "token"], [row[0], token])


# --- where tokens are used -------------------------------------------------------------------------------------

_seen: dict[tuple[int, date, str, str], None] = {}  # uses this process already stored (bounded, insertion order)
_seen_lock = threading.Lock()
SEEN_MAX = 50_000


def _network_key(ip: str, day: date) -> str:
    try:
        address = ipaddress.ip_address(ip)
        prefix = 24 if address.version == 4 else 48
        network = str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
    except ValueError:
        network = ip
    salt = (settings.ANALYTICS_SALT or settings.SECRET_KEY).encode()
    return hmac.new(salt, f"members|{day.isoformat()}|{network}".encode(), hashlib.sha256).hexdigest()[:32]


def member_use_record(request: HttpRequest, member: Member, *, now: datetime | None = None) -> None:
    """Note the network and app this request came from (once per process per member, day, network and app)."""
    moment = now or timezone.now()
    day = moment.date()
    key = (member.pk, day, _network_key(client_ip(request), day), app_name(request.headers.get("User-Agent", ""))[:64])
    with _seen_lock:
        if key in _seen:
            return
    try:
        MemberUse.objects.bulk_create(
            [MemberUse(member_id=member.pk, day=day, network=key[2], app=key[3], first_seen=moment)],
            ignore_conflicts=True,
        )
    except DatabaseError:  # noting a use must never stop a member's feed
        return
    with _seen_lock:
        while len(_seen) >= SEEN_MAX:
            _seen.pop(next(iter(_seen)))
        _seen[key] = None


@dataclass(frozen=True)
class Sharing:
    external_id: str
    day: date
    networks: int
    apps: int


def sharing_suspects(*, days: int = 1, today: date | None = None) -> list[Sharing]:
    """Members whose token was used from MEMBERS_SHARING_NETWORKS networks or MEMBERS_SHARING_APPS apps in one
    UTC day, over the last ``days`` days (most networks first)."""
    since = (today or timezone.now().date()) - timedelta(days=days - 1)
    rows = (
        MemberUse.objects.filter(day__gte=since)
        .values("member__external_id", "day")
        .annotate(networks=Count("network", distinct=True), apps=Count("app", distinct=True))
        .filter(Q(networks__gte=settings.MEMBERS_SHARING_NETWORKS) | Q(apps__gte=settings.MEMBERS_SHARING_APPS))
        .order_by("-networks", "-apps", "member__external_id")
    )
    return [Sharing(r["member__external_id"], r["day"], r["networks"], r["apps"]) for r in rows]


def member_uses_prune(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()).date() - timedelta(days=settings.MEMBERS_USE_RETENTION_DAYS)
    deleted, _ = MemberUse.objects.filter(day__lt=cutoff).delete()
    return deleted


def member_feed_urls(member: Member) -> dict[str, str]:
    """Show slug → the member's private feed URL, for every show (what a member page lists)."""
    from episodes.models import Show

    slugs = Show.objects.order_by("slug").values_list("slug", flat=True)
    return {slug: member_feed_url(member.token, slug) for slug in slugs}
