"""Feed and delivery URLs (mounted at the site root by media_hub.urls); paths follow episodes.links."""

from django.urls import re_path

from feeds import views

# Canonical ids only (no leading zero: /d/e/01/… is a 404, not a second URL of /d/e/1/…), at most 18 digits.
ID = r"[1-9][0-9]{0,17}"

urlpatterns = [
    re_path(r"^feeds/(?P<slug>[^/]+)\.xml$", views.show_feed, name="show-feed"),
    re_path(rf"^d/e/(?P<episode_id>{ID})/chapters\.json$", views.episode_chapters, name="episode-chapters"),
    re_path(
        rf"^d/(?P<owner>[ev])/(?P<owner_id>{ID})/hls(?:-(?P<version>[0-9a-f]{{12}}))?/(?P<path>.+)$",
        views.hls_file,
        name="hls-file",
    ),
    re_path(rf"^d/(?P<owner>[evs])/(?P<owner_id>{ID})/(?P<name>[^/]+)$", views.media_file, name="media-file"),
]
