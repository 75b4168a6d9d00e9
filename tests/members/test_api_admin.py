"""Members over the API (staff bearer token) and in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from episodes.services.tokens import api_token_create
from members.models import Member
from members.services import member_grant

pytestmark = pytest.mark.django_db


def bearer(staff: bool) -> dict[str, str]:
    user = get_user_model().objects.create_user(username=f"u{staff}", password="x", is_staff=staff)
    _, raw = api_token_create(user=user, name="t")
    return {"Authorization": f"Bearer {raw}"}


def test_grant_get_rotate_revoke(client: Client, show: Any) -> None:
    auth = bearer(True)
    granted = client.put("/api/v1/members/opaque-7", headers=auth)
    assert granted.status_code == 200, granted.content
    token = Member.objects.get().token
    assert granted.json()["feeds"]["ukraine-insights"].endswith(f"/members/{token}/feeds/ukraine-insights.xml")
    assert client.put("/api/v1/members/opaque-7", headers=auth).json()["feeds"] == granted.json()["feeds"]  # idempotent
    rotated = client.post("/api/v1/members/opaque-7/rotate", headers=auth).json()
    assert rotated["feeds"] != granted.json()["feeds"]
    revoked = client.delete("/api/v1/members/opaque-7", headers=auth)
    assert revoked.status_code == 200 and revoked.json()["active"] is False and revoked.json()["feeds"] == {}
    assert client.get("/api/v1/members/nobody", headers=auth).status_code == 404
    assert client.delete("/api/v1/members/nobody", headers=auth).status_code == 404
    assert client.post("/api/v1/members/opaque-7/rotate", headers=auth).status_code == 404  # revoked: nothing to rotate
    assert client.get("/api/v1/members/sharing", headers=auth).json() == []


def test_only_staff(client: Client) -> None:
    assert client.put("/api/v1/members/opaque-7").status_code == 401
    producer = client.put("/api/v1/members/opaque-7", headers=bearer(False))
    assert producer.status_code == 403 and producer.json()["error"]["code"]
    assert not Member.objects.exists()


def test_admin_lists_members_with_sharing_and_revokes(admin_client: Client, show: Any) -> None:
    member = member_grant(external_id="opaque-9")
    page = admin_client.get("/admin/members/member/")
    assert page.status_code == 200 and "opaque-9" in page.content.decode()
    assert admin_client.get("/admin/members/member/?sharing=yes").status_code == 200
    detail = admin_client.get(f"/admin/members/member/{member.pk}/change/")
    assert f"/members/{member.token}/feeds/ukraine-insights.xml" in detail.content.decode()
    admin_client.post("/admin/members/member/", {"action": "revoke", "_selected_action": [member.pk]}, follow=True)
    assert not Member.objects.get().active
