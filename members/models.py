"""Members of the publisher's membership programme and what their private feed tokens are used for.

A member is known only by the membership system's opaque id: no name, no e-mail. Their token is the secret in
their private feed and media URLs (``/members/<token>/feeds/<slug>.xml``); revoking the member makes it stop
working at the next request, and granting them again issues a new one (a leaked URL stays dead).
"""

from __future__ import annotations

from django.db import models


class Member(models.Model):
    external_id = models.CharField(max_length=128, unique=True, help_text="The membership system's opaque id.")
    token = models.CharField(max_length=64, unique=True, help_text="Secret of the member's private feed URLs.")
    active = models.BooleanField(default=True)
    granted_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The time of the membership system's last event applied to this member: an older event arriving late (a retry
    # overtaken by a newer one) changes nothing.
    event_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-granted_at", "-id"]

    def __str__(self) -> str:
        return f"{self.external_id} ({'active' if self.active else 'revoked'})"


class MemberUse(models.Model):
    """One network and app a member's token was used from on one UTC day (for sharing detection; pruned).

    ``network`` is a keyed hash of the client's /24 (IPv4) or /48 (IPv6) network and the day: no address is stored.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="uses")
    day = models.DateField(db_index=True)
    network = models.CharField(max_length=32)
    app = models.CharField(max_length=64)
    first_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "day", "network", "app"], name="member_use_unique"),
        ]
        verbose_name = "member token use (raw, pruned)"

    def __str__(self) -> str:
        return f"{self.member_id} {self.day} {self.network[:8]} {self.app}"


class WebhookEvent(models.Model):
    """A membership-system webhook call that was applied: replays (same nonce) are refused, and an event sent again
    (same event id, new signature) answers what it answered the first time without applying it twice."""

    event_id = models.CharField(max_length=128, unique=True)
    nonce = models.CharField(max_length=128, unique=True)
    kind = models.CharField(max_length=32)
    external_id = models.CharField(max_length=128)
    received_at = models.DateTimeField(db_index=True)
    result = models.JSONField(default=dict)

    class Meta:
        ordering = ["-received_at", "-id"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.kind} {self.external_id}"
