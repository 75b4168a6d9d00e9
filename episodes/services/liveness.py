"""Heartbeats of the background processes and the single-beat lease; what /metrics and /health/status read.

    worker_heartbeat(name="celery@host", queues=["media"], holder="host:123")   # a worker, every few seconds
    beat_lease(holder="host:456")        # True while this beat is the active one (it renews the lease)
    liveness()                           # → Liveness: newest worker heartbeat per queue, beat's last tick

The beat lease is one database row (``ProcessBeat`` named ``beat``), taken with a single conditional UPDATE, so it
works the same on PostgreSQL and on the embedded SQLite: a second beat stands by until the lease runs out.
Clocks of the beat machines are assumed to be in sync (NTP): the lease lasts far longer than any sane skew.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from episodes.models import ProcessBeat

log = logging.getLogger(__name__)
Kind = ProcessBeat.Kind

BEAT = "beat"
QUEUES = ("media", "control", "default")
# Worker rows not seen for this long are forgotten (a retired machine).
FORGET_AFTER = timedelta(days=7)


def heartbeat_stale_after() -> timedelta:
    """A heartbeat older than this counts as missing: three missed beats."""
    return timedelta(seconds=3 * settings.PROCESS_HEARTBEAT_SECONDS)


def worker_heartbeat(*, name: str, queues: list[str], holder: str, now: datetime | None = None) -> None:
    ProcessBeat.objects.update_or_create(
        name=name,
        defaults={
            "kind": Kind.WORKER,
            "queues": ",".join(sorted(queues)),
            "holder": holder,
            "seen_at": now or timezone.now(),
        },  # fmt: skip
    )


def worker_gone(*, name: str) -> None:
    """A worker shutting down cleanly says so (its heartbeat would otherwise look fresh for a while)."""
    ProcessBeat.objects.filter(name=name, kind=Kind.WORKER).delete()


def beat_lease(*, holder: str, now: datetime | None = None) -> bool:
    """Take or renew the beat lease for ``holder``; True while it is the active beat."""
    now = now or timezone.now()
    # Renewed on every tick (≤ 5 s apart); a standby takes over this long after the active beat stopped.
    expires = now + timedelta(seconds=settings.BEAT_LEASE_SECONDS)
    ProcessBeat.objects.get_or_create(
        name=BEAT, defaults={"kind": Kind.BEAT, "holder": "", "seen_at": now, "expires_at": None}
    )
    # One statement: of two beats racing for an expired lease, the database lets exactly one UPDATE match.
    taken = ProcessBeat.objects.filter(
        Q(holder=holder) | Q(expires_at__lt=now) | Q(expires_at__isnull=True), name=BEAT
    ).update(holder=holder, seen_at=now, expires_at=expires)
    return bool(taken)


def beat_release(*, holder: str) -> None:
    """A beat stopping cleanly hands the lease over at once."""
    ProcessBeat.objects.filter(name=BEAT, holder=holder).update(expires_at=timezone.now())


def heartbeats_forget(*, now: datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - FORGET_AFTER
    deleted, _ = ProcessBeat.objects.filter(kind=Kind.WORKER, seen_at__lt=cutoff).delete()
    return deleted


@dataclass(frozen=True)
class QueueLiveness:
    newest_age_s: float | None  # None: no worker ever reported for this queue
    live_workers: int


@dataclass(frozen=True)
class Liveness:
    queues: dict[str, QueueLiveness]
    beat_age_s: float | None  # since the active beat's last tick; None: never
    beat_holder: str

    @property
    def missing(self) -> list[str]:
        """What is missing, in words an operator can act on (empty when all is well)."""
        gone = [f"no live worker consumes the '{q}' queue" for q, info in self.queues.items() if not info.live_workers]
        limit = heartbeat_stale_after().total_seconds()
        if self.beat_age_s is None or self.beat_age_s > max(limit, settings.BEAT_LEASE_SECONDS):
            gone.append("no beat is running (periodic work and the job sweeper are stopped)")
        return gone


def liveness(*, now: datetime | None = None) -> Liveness:
    now = now or timezone.now()
    limit = now - heartbeat_stale_after()
    rows = list(ProcessBeat.objects.values_list("name", "kind", "queues", "holder", "seen_at"))
    queues: dict[str, QueueLiveness] = {}
    for queue in QUEUES:
        seen = [seen_at for _, kind, names, _, seen_at in rows if kind == Kind.WORKER and queue in names.split(",")]
        newest = max(seen, default=None)
        queues[queue] = QueueLiveness(
            newest_age_s=(now - newest).total_seconds() if newest else None,
            live_workers=sum(1 for s in seen if s >= limit),
        )
    beat = next(((holder, seen_at) for name, _, _, holder, seen_at in rows if name == BEAT and holder), None)
    return Liveness(
        queues=queues,
        beat_age_s=(now - beat[1]).total_seconds() if beat else None,
        beat_holder=beat[0] if beat else "",
    )
