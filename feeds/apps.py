from typing import Any

from django.apps import AppConfig


class FeedsConfig(AppConfig):
    name = "feeds"
    verbose_name = "Feeds and downloads"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from episodes.signals import feed_changed
        from feeds.websub import websub_feed_changed

        def announce(sender: Any, *, show_id: int, **kwargs: Any) -> None:
            websub_feed_changed(show_id=show_id)

        feed_changed.connect(announce, dispatch_uid="feeds.websub.announce", weak=False)
