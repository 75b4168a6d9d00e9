"""The membership system's webhook: grant and revoke members, signed, replay-proof and idempotent.

    POST /members/webhook
    X-Membership-Timestamp: 1733450000                    (Unix seconds; ±MEMBERS_WEBHOOK_TOLERANCE_SECONDS)
    X-Membership-Nonce: 0f6c…                             (unique per call, 8–128 characters)
    X-Membership-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<nonce>.<body>" with MEMBERS_WEBHOOK_SECRET>
    {"id": "evt_123", "type": "member.granted" | "member.revoked", "member": {"id": "<opaque id>"},
     "occurred_at": "2026-12-06T03:00:00Z"}                (occurred_at optional)

Answers: 200 with the member's state (and feed URLs when granted); the same event id sent again answers the same
without applying it twice; a nonce seen before is a replay (409); a bad or missing signature 401; a stale
timestamp 401; an invalid body 400; no secret configured 503. The event is applied and recorded in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from members.models import Member, WebhookEvent
from members.services import member_feed_urls, member_grant, member_revoke

TIMESTAMP, NONCE, SIGNATURE = "X-Membership-Timestamp", "X-Membership-Nonce", "X-Membership-Signature"
KINDS = {"member.granted", "member.revoked"}
MAX_BODY = 64 * 1024


def signature(secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The value of X-Membership-Signature for these inputs (what the membership system computes)."""
    message = timestamp.encode() + b"." + nonce.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"error": {"code": code, "message": message}}


def _verify(request: HttpRequest, body: bytes) -> tuple[int, dict[str, Any]] | None:
    secret = settings.MEMBERS_WEBHOOK_SECRET
    if not secret:
        return _error(503, "not_configured", "MEMBERS_WEBHOOK_SECRET is not set.")
    timestamp = request.headers.get(TIMESTAMP, "")
    nonce = request.headers.get(NONCE, "")
    given = request.headers.get(SIGNATURE, "")
    if not timestamp.isdigit() or not 8 <= len(nonce) <= 128 or not given:
        return _error(401, "unsigned", f"{TIMESTAMP}, {NONCE} and {SIGNATURE} are required.")
    if not hmac.compare_digest(given, signature(secret, timestamp, nonce, body)):
        return _error(401, "bad_signature", "The signature does not match.")
    if abs(time.time() - int(timestamp)) > settings.MEMBERS_WEBHOOK_TOLERANCE_SECONDS:
        return _error(401, "stale", "The timestamp is too far from now; sign the call again.")
    return None


def _event(body: bytes) -> tuple[str, str, str, datetime | None] | None:
    try:
        data = json.loads(body)
        event_id, kind, external_id = data["id"], data["type"], data["member"]["id"]
    except (ValueError, KeyError, TypeError):
        return None
    if not all(isinstance(v, str) and 0 < len(v) <= 128 for v in (event_id, kind, external_id)) or kind not in KINDS:
        return None
    occurred = data.get("occurred_at")
    occurred_at = parse_datetime(occurred) if isinstance(occurred, str) else None
    if occurred is not None and (occurred_at is None or occurred_at.tzinfo is None):
        return None
    return event_id, kind, external_id, occurred_at


def handle(request: HttpRequest) -> tuple[int, dict[str, Any]]:
    """Verify, de-duplicate and apply one webhook call; (HTTP status, JSON body)."""
    body = request.body[: MAX_BODY + 1]
    if len(body) > MAX_BODY:
        return _error(413, "too_large", "The body is too large.")
    failure = _verify(request, body)
    if failure is not None:
        return failure
    event = _event(body)
    if event is None:
        return _error(400, "invalid", 'Expected {"id", "type": "member.granted"|"member.revoked", "member": {"id"}}.')
    event_id, kind, external_id, occurred_at = event
    nonce = request.headers[NONCE]
    if WebhookEvent.objects.filter(nonce=nonce).exists():
        return _error(409, "replay", "This nonce was already used.")
    done = WebhookEvent.objects.filter(event_id=event_id).first()
    if done is not None:
        return 200, _answer(done.result, duplicate=True)
    try:
        with transaction.atomic():
            if kind == "member.granted":
                member = member_grant(external_id=external_id, event_at=occurred_at)
            else:
                member = member_revoke(external_id=external_id, event_at=occurred_at)
            result: dict[str, Any] = {"event": event_id, "member": member.external_id, "active": member.active}
            WebhookEvent.objects.create(
                event_id=event_id, nonce=nonce, kind=kind, external_id=external_id, received_at=timezone.now(),
                result=result,
            )  # fmt: skip
    except IntegrityError:  # the same event id (a concurrent retry) or a nonce already used: nothing applied
        done = WebhookEvent.objects.filter(event_id=event_id).first()
        if done is not None:
            return 200, _answer(done.result, duplicate=True)
        return _error(409, "replay", "This nonce was already used.")
    return 200, _answer(result, duplicate=False)


def _answer(result: dict[str, Any], *, duplicate: bool) -> dict[str, Any]:
    """The stored result with the member's current state and, while active, their feed URLs (never stored)."""
    member = Member.objects.filter(external_id=result["member"]).first()
    answer = {**result, "duplicate": duplicate}
    if member is not None:
        answer["active"] = member.active
        if member.active:
            answer["feeds"] = member_feed_urls(member)
    return answer


def webhook_events_prune(*, now: datetime | None = None) -> int:
    """Forget events older than 30 days (a nonce can only be replayed within the timestamp tolerance anyway)."""
    cutoff = (now or timezone.now()) - timedelta(days=30)
    deleted, _ = WebhookEvent.objects.filter(received_at__lt=cutoff).delete()
    return deleted
