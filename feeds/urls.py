"""Feed and delivery URLs (mounted at the site root by media_hub.urls); paths follow episodes.links."""

from django.urls import path, re_path

from feeds import views

urlpatterns = [
    re_path(r"^feeds/(?P<slug>[^/]+)\.xml$", views.show_feed, name="show-feed"),
    path("d/e/<int:episode_id>/chapters.json", views.episode_chapters, name="episode-chapters"),
    re_path(
        r"^d/(?P<owner>[ev])/(?P<owner_id>[0-9]{1,18})/hls(?:-(?P<version>[0-9a-f]{12}))?/(?P<path>.+)$",
        views.hls_file,
        name="hls-file",
    ),
    re_path(r"^d/(?P<owner>[evs])/(?P<owner_id>[0-9]{1,18})/(?P<name>[^/]+)$", views.media_file, name="media-file"),
]
