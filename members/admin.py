"""Members in the admin: who is active, their feed URLs, revoke / rotate, and tokens that look shared."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from members.models import Member, WebhookEvent
from members.services import member_feed_urls, member_revoke, member_rotate_token


class SharingFilter(admin.SimpleListFilter):
    title = "sharing suspected (today or yesterday)"
    parameter_name = "sharing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Member]) -> QuerySet[Member]:
        if self.value() != "yes":
            return queryset
        since = timezone.now().date() - timedelta(days=1)
        flagged = (
            Member.objects.filter(uses__day__gte=since)
            .values("pk", "uses__day")
            .annotate(n=Count("uses__network", distinct=True), a=Count("uses__app", distinct=True))
            .filter(Q(n__gte=settings.MEMBERS_SHARING_NETWORKS) | Q(a__gte=settings.MEMBERS_SHARING_APPS))
            .values("pk")
        )
        return queryset.filter(pk__in=flagged)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("external_id", "active", "granted_at", "revoked_at", "networks_today", "apps_today")
    list_filter = ("active", SharingFilter)
    search_fields = ("external_id",)
    readonly_fields = ("external_id", "active", "granted_at", "revoked_at", "event_at", "feed_urls", "updated_at")
    exclude = ("token",)
    actions = ("revoke", "rotate")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Member]:
        today = timezone.now().date()
        return (
            super()
            .get_queryset(request)
            .annotate(
                networks_today_n=Count("uses__network", filter=Q(uses__day=today), distinct=True),
                apps_today_n=Count("uses__app", filter=Q(uses__day=today), distinct=True),
            )
        )

    @admin.display(description="networks today", ordering="networks_today_n")
    def networks_today(self, member: Member) -> str:
        n = getattr(member, "networks_today_n", 0)
        return f"{n} ⚠ shared?" if n >= settings.MEMBERS_SHARING_NETWORKS else str(n)

    @admin.display(description="apps today", ordering="apps_today_n")
    def apps_today(self, member: Member) -> str:
        n = getattr(member, "apps_today_n", 0)
        return f"{n} ⚠ shared?" if n >= settings.MEMBERS_SHARING_APPS else str(n)

    @admin.display(description="private feed URLs")
    def feed_urls(self, member: Member) -> str:
        if not member.active:
            return "— (revoked)"
        urls = ((url,) for url in member_feed_urls(member).values())
        item = '<li><code style="word-break: break-all">{}</code></li>'  # a long (percent-encoded) URL wraps
        return format_html("<ul>{}</ul>", format_html_join("", item, urls))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # members come from the membership system (webhook or API)

    @admin.action(description="Revoke: their feed and media URLs stop working now")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        for member in queryset.filter(active=True):
            member_revoke(external_id=member.external_id)
        messages.success(request, "Revoked.")

    @admin.action(description="New token (after a leak): old URLs stop working")
    def rotate(self, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        for member in queryset.filter(active=True):
            member_rotate_token(external_id=member.external_id)
        messages.success(request, "New tokens issued; the members must subscribe to their new feed URLs.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(admin.ModelAdmin):
    list_display = ("received_at", "event_id", "kind", "external_id")
    search_fields = ("event_id", "external_id")
    readonly_fields = ("event_id", "nonce", "kind", "external_id", "received_at", "result")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
