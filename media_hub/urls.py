"""URL wiring: admin, API, feeds, health."""

from django.contrib import admin
from django.urls import include, path

from media_hub import health, metrics
from media_hub.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("health/status", health.status, name="health-status"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("", include("feeds.urls")),
    path("", include("members.urls")),
    path("", include("episodes.urls_public")),
]
