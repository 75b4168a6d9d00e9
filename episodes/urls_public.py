"""Public pages, embeds and oEmbed (mounted at the site root by media_hub.urls); paths follow episodes.links."""

from django.urls import path, re_path

from episodes.embeds import views

# Ids are bounded to 18 digits so a huge number is a 404, never a database overflow; canonical only (no leading
# zero), so each item has one URL.
ID = r"(?P<{}>[1-9][0-9]{{0,17}})"

urlpatterns = [
    re_path(rf"^embed/video/{ID.format('video_id')}/$", views.embed_video, name="embed-video"),
    re_path(rf"^embed/episode/{ID.format('episode_id')}/$", views.embed_episode, name="embed-episode"),
    path("embed/events", views.embed_events, name="embed-events"),
    re_path(r"^oembed/?$", views.oembed_view, name="oembed"),
    path("sitemaps/videos.xml", views.video_sitemap_view, name="video-sitemap"),
    re_path(rf"^videos/{ID.format('video_id')}/(?:(?P<slug>[^/]+)/)?$", views.video_page, name="video-page"),
    re_path(rf"^episodes/{ID.format('episode_id')}/(?:(?P<slug>[^/]+)/)?$", views.episode_page, name="episode-page"),
]
