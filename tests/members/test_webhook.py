"""The membership webhook: signed, replay-proof, idempotent, order-safe; and sharing detection."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from members.models import Member, MemberUse
from members.services import sharing_suspects
from members.webhook import signature

pytestmark = pytest.mark.django_db
SECRET = "whsec-test-секрет"
URL = "/members/webhook"


@pytest.fixture(autouse=True)
def secret(settings: Any) -> None:
    settings.MEMBERS_WEBHOOK_SECRET = SECRET


def post(client: Client, event: dict[str, Any], *, nonce: str | None = None, ts: int | None = None,
         secret: str = SECRET, body: bytes | None = None) -> Any:  # fmt: skip
    raw = body if body is not None else json.dumps(event).encode()
    stamp = str(ts if ts is not None else int(time.time()))
    once = nonce or uuid.uuid4().hex
    return client.post(
        URL, raw, content_type="application/json", HTTP_X_MEMBERSHIP_TIMESTAMP=stamp, HTTP_X_MEMBERSHIP_NONCE=once,
        HTTP_X_MEMBERSHIP_SIGNATURE=signature(secret, stamp, once, raw),
    )  # fmt: skip


def grant(n: str = "1", member: str = "opaque-1", **extra: Any) -> dict[str, Any]:
    return {"id": f"evt-{n}", "type": "member.granted", "member": {"id": member}, **extra}


def revoke(n: str = "2", member: str = "opaque-1", **extra: Any) -> dict[str, Any]:
    return {"id": f"evt-{n}", "type": "member.revoked", "member": {"id": member}, **extra}


def test_grant_then_revoke(client: Client, show: Any) -> None:
    response = post(client, grant())
    assert response.status_code == 200, response.content
    body = response.json()
    member = Member.objects.get(external_id="opaque-1")
    assert body["active"] is True
    assert body["feeds"]["ukraine-insights"].endswith(f"/members/{member.token}/feeds/ukraine-insights.xml")
    assert post(client, revoke()).json()["active"] is False
    assert not Member.objects.get(external_id="opaque-1").active


def test_same_event_twice_is_applied_once(client: Client) -> None:
    first = post(client, grant()).json()
    token = Member.objects.get().token
    again = post(client, grant())  # a retry: new nonce and signature, same event id
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["member"] == first["member"]
    assert Member.objects.get().token == token


def test_replayed_call_is_refused(client: Client) -> None:
    nonce = uuid.uuid4().hex
    assert post(client, grant(), nonce=nonce).status_code == 200
    replay = post(client, revoke(), nonce=nonce)
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "replay"
    assert Member.objects.get().active


def test_bad_signature_stale_time_and_missing_headers(client: Client) -> None:
    assert post(client, grant(), secret="wrong").status_code == 401
    stale = post(client, grant(), ts=int(time.time()) - 3600)
    assert stale.status_code == 401 and stale.json()["error"]["code"] == "stale"
    bare = client.post(URL, json.dumps(grant()), content_type="application/json")
    assert bare.status_code == 401 and bare.json()["error"]["code"] == "unsigned"
    assert not Member.objects.exists()


def test_invalid_bodies_are_400_not_500(client: Client) -> None:
    for body in (b"not json", b"[]", b'{"id": "x"}', json.dumps(grant() | {"type": "member.deleted"}).encode(),
                 json.dumps(grant(occurred_at="yesterday")).encode()):  # fmt: skip
        response = post(client, {}, body=body)
        assert response.status_code == 400, body
        assert response.json()["error"]["code"] == "invalid"


def test_not_configured_is_503(client: Client, settings: Any) -> None:
    settings.MEMBERS_WEBHOOK_SECRET = ""
    assert post(client, grant()).status_code == 503


def test_a_late_older_event_changes_nothing(client: Client) -> None:
    now = timezone.now()
    post(client, revoke(n="9", occurred_at=now.isoformat()))
    late = post(client, grant(n="8", occurred_at=(now - timedelta(minutes=5)).isoformat()))
    assert late.status_code == 200 and late.json()["active"] is False
    assert not Member.objects.get().active


def test_get_is_refused(client: Client) -> None:
    assert client.get(URL).status_code == 405


def test_sharing_is_flagged(client: Client, settings: Any) -> None:
    settings.MEMBERS_SHARING_NETWORKS = 3
    post(client, grant())
    member = Member.objects.get()
    feed = f"/members/{member.token}/feeds/none.xml"
    for n, app in enumerate(["AntennaPod/3.4", "Overcast/3.0", "PocketCasts/1.0", "AppleCoreMedia/1.0"]):
        client.get(feed, REMOTE_ADDR=f"198.51.{n}.7", HTTP_USER_AGENT=app)
        client.get(feed, REMOTE_ADDR=f"198.51.{n}.8", HTTP_USER_AGENT=app)  # same /24: one network
    assert MemberUse.objects.filter(member=member).values("network").distinct().count() == 4
    (suspect,) = sharing_suspects()
    assert (suspect.external_id, suspect.networks, suspect.apps) == ("opaque-1", 4, 4)
    settings.MEMBERS_SHARING_NETWORKS, settings.MEMBERS_SHARING_APPS = 5, 5
    assert sharing_suspects() == []


def test_prune_forgets_old_sightings_and_events(client: Client) -> None:
    from members.tasks import prune

    post(client, grant())
    member = Member.objects.get()
    old = timezone.now() - timedelta(days=400)
    MemberUse.objects.create(member=member, day=old.date(), network="n", app="a", first_seen=old)
    MemberUse.objects.create(member=member, day=timezone.now().date(), network="n", app="a", first_seen=old)
    from members.models import WebhookEvent

    WebhookEvent.objects.update(received_at=old)
    assert prune() == 2
    assert MemberUse.objects.count() == 1 and not WebhookEvent.objects.exists()
