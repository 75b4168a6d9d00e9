"""Beat's scheduler: only the beat holding the database lease sends periodic tasks; it also leaves its tick.

    CELERY_BEAT_SCHEDULER = "media_hub.beat:SingleBeatScheduler"    (settings.py; also used by ``worker --beat``)

A second ``celery beat`` started by mistake (or a standby kept on purpose) logs that it stands by and sends
nothing; it takes over within BEAT_LEASE_SECONDS of the active one stopping. While the database cannot be
reached no beat is active: periodic work needs the database anyway, and this rules out two active beats.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from typing import Any

from celery.beat import PersistentScheduler
from django.db import connection

log = logging.getLogger(__name__)

STANDBY_SLEEP_SECONDS = 5.0
RENEW_EVERY_SECONDS = 1.0


class SingleBeatScheduler(PersistentScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holder = f"{socket.gethostname()}:{os.getpid()}"
        self.active = False
        self._known = False  # the first check always logs which role this beat has
        self._checked_at = 0.0
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if time.monotonic() - self._checked_at >= RENEW_EVERY_SECONDS:
            self._checked_at = time.monotonic()
            self._renew()
        if not self.active:
            return STANDBY_SLEEP_SECONDS
        return float(min(super().tick(*args, **kwargs), STANDBY_SLEEP_SECONDS))

    def _renew(self) -> None:
        from episodes.services.liveness import beat_lease

        try:
            active = beat_lease(holder=self.holder)
        except Exception as exc:  # noqa: BLE001 - no database: no active beat (never two)
            connection.close()
            if self.active or not self._known:
                log.warning("beat lease unknown (database unavailable); pausing", extra={"error": repr(exc)[:300]})
            self.active, self._known = False, True
            return
        if active != self.active or not self._known:
            if active:
                log.info("beat active: this beat sends the periodic tasks", extra={"holder": self.holder})
            else:
                log.warning("another beat is active; standing by", extra={"holder": self.holder})
        self.active, self._known = active, True

    def close(self) -> None:
        from episodes.services.liveness import beat_release

        if self.active:
            try:
                beat_release(holder=self.holder)
            except Exception:  # noqa: BLE001 - the lease simply runs out
                log.warning("could not release the beat lease", exc_info=True)
        super().close()
