"""Member URLs (mounted at the site root): the private feed and media mirror public paths under /members/<token>/."""

from django.urls import path, re_path

from members import views

TOKEN = r"(?P<token>[A-Za-z0-9_\-]{16,64})"  # noqa: S105 - a URL pattern, not a secret
OWNER_ID = r"(?P<owner_id>[1-9][0-9]{0,17})"  # canonical ids only, as under /d/

urlpatterns = [
    path("members/webhook", views.membership_webhook, name="members-webhook"),
    re_path(rf"^members/{TOKEN}/feeds/(?P<slug>[^/]+)\.xml$", views.member_feed, name="member-feed"),
    re_path(
        rf"^members/{TOKEN}/d/e/(?P<episode_id>[0-9]{{1,18}})/chapters\.json$",
        views.member_chapters,
        name="member-chapters",
    ),
    re_path(
        rf"^members/{TOKEN}/d/(?P<owner>[ev])/{OWNER_ID}/hls(?:-(?P<version>[0-9a-f]{{12}}))?/(?P<path>.+)$",
        views.member_hls,
        name="member-hls",
    ),
    re_path(
        rf"^members/{TOKEN}/d/(?P<owner>[evs])/{OWNER_ID}/(?P<name>[^/]+)$", views.member_media, name="member-media"
    ),
]
