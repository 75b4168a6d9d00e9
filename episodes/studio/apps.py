"""Two app configs: the studio's templates/static, and the admin with a site that lets show members in."""

from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class StudioConfig(AppConfig):
    name = "episodes.studio"
    label = "studio"
    verbose_name = "Producer studio"


class StudioAdminConfig(AdminConfig):
    default_site = "episodes.studio.site.StudioAdminSite"
