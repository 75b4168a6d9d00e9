"""Download hits leave the web process off the request's path: a per-process buffer that one thread sends on.

    submit(hit)    # from a response's close(): appends to a buffer, never blocks on the broker, never raises

The thread sends what is buffered every FLUSH_SECONDS (at once when BATCH hits wait) as one
``feeds.record_downloads`` task. A broker that is down keeps the hits in the buffer for the next try, up to
MAX_PENDING (then the newest are dropped and logged): a Redis blink loses no downloads. A process that exits
normally sends what it still holds. With Celery's eager mode (tests) a hit is recorded at once, in the caller.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections import deque
from typing import Any

from feeds.analytics import DownloadHit

logger = logging.getLogger(__name__)

BATCH = 200
FLUSH_SECONDS = 0.5
MAX_PENDING = 50_000


class HitSender:
    def __init__(self) -> None:
        self._pending: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._owner_pid: int | None = None
        self.dropped = 0

    def submit(self, hit: DownloadHit) -> None:
        from media_hub.celery import app

        if app.conf.task_always_eager:
            self._send([hit.as_dict()])
            return
        with self._lock:
            if len(self._pending) >= MAX_PENDING:
                self.dropped += 1
                if self.dropped % 1000 == 1:
                    logger.warning("download hits dropped: the broker is unreachable", extra={"dropped": self.dropped})
                return
            self._pending.append(hit.as_dict())
            self._start_thread()
            full = len(self._pending) >= BATCH
        if full:
            self._wake.set()

    def _start_thread(self) -> None:
        """One sender thread per process (a forked gunicorn worker starts its own). Call with the lock held."""
        if self._owner_pid == os.getpid():
            return
        self._owner_pid = os.getpid()
        threading.Thread(target=self._run, name="download-hits", daemon=True).start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            self._wake.wait(FLUSH_SECONDS)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Send everything buffered; hits that could not be sent go back to the front. Returns how many were sent."""
        sent = 0
        while True:
            with self._lock:
                batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
            if not batch:
                return sent
            try:
                self._send(batch)
            except Exception:  # noqa: BLE001 - the broker is down: keep the hits for the next tick
                logger.warning("download hits not sent yet; will retry", exc_info=True)
                with self._lock:
                    self._pending.extendleft(reversed(batch))
                return sent
            sent += len(batch)

    @staticmethod
    def _send(batch: list[dict[str, Any]]) -> None:
        from feeds.tasks import record_downloads

        # retry=False: a broker that is down fails at once; the hits wait in the buffer, not in this thread.
        record_downloads.apply_async(args=(batch,), retry=False)

    def pending(self) -> int:
        with self._lock:
            return len(self._pending)


sender = HitSender()


def submit(hit: DownloadHit | None) -> None:
    if hit is not None:
        try:
            sender.submit(hit)
        except Exception:  # noqa: BLE001 - counting must never break a download
            logger.warning("download not recorded", exc_info=True)
