"""Signals other apps listen to, so that episodes never imports them.

    feed_changed.send(sender=Show, show_id=show.pk)   # inside the writing transaction

``feed_changed``: a show's public feed changed because an episode (or an episode's source video) was published
or pulled. Sent inside the transaction that made the change; a receiver defers its own work to the commit
(feeds.websub announces the feed to the WebSub hub after it).
"""

from __future__ import annotations

from django.dispatch import Signal

feed_changed = Signal()
