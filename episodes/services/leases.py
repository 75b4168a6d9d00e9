"""Job leases: one worker holds a job until ``lease_expires_at``; a heartbeat thread extends it while ffmpeg runs.

Usage::

    claim = job_claim(job_id=42, worker_id="host:123")   # None when done, failed or leased by a live worker
    with Heartbeat(claim) as beat:                       # beat.stage / beat.progress ride along on each beat
        ...
    if beat.lost.is_set(): ...                           # another worker took over: touch nothing shared
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Self

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from episodes.models import ProcessingJob

log = logging.getLogger(__name__)
PROGRESS_TICK = 1.0  # seconds between looks at the stage/progress (a write only when they changed)
State = ProcessingJob.State
Stage = ProcessingJob.Stage


class LeaseLost(Exception):
    """Another worker took the job over (our lease expired); stop without touching shared state."""


@dataclass(frozen=True)
class Claim:
    job_id: int
    worker_id: str
    attempt: int


def job_claim(*, job_id: int, worker_id: str) -> Claim | None:
    """Take the job's lease, or return None when it is done, failed, or leased by a live worker."""
    now = timezone.now()
    with transaction.atomic():
        job = ProcessingJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.state in {State.SUCCEEDED, State.FAILED}:
            return None
        if job.state == State.RUNNING and job.lease_expires_at and job.lease_expires_at > now:
            return None
        if job.attempts >= job.max_attempts:
            job_fail(job, "Processing was tried too many times without finishing; please upload the file again.")
            return None
        job.attempts += 1
        job.state = State.RUNNING
        job.stage = Stage.FETCHING
        job.progress = 0
        job.lease_owner = worker_id
        job.lease_expires_at = now + timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS)
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.error = ""
        job.error_detail = ""
        job.save()
        return Claim(job_id=job.pk, worker_id=worker_id, attempt=job.attempts)


def job_heartbeat(*, claim: Claim, stage: str | None = None, progress: int | None = None) -> None:
    """Extend our lease (and record stage/progress); raise ``LeaseLost`` if the job is no longer ours."""
    now = timezone.now()
    fields: dict[str, object] = {
        "heartbeat_at": now,
        "lease_expires_at": now + timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS),
    }
    if stage is not None:
        fields["stage"] = stage
    if progress is not None:
        fields["progress"] = max(0, min(100, int(progress)))
    updated = ProcessingJob.objects.filter(
        pk=claim.job_id, lease_owner=claim.worker_id, attempts=claim.attempt, state=State.RUNNING
    ).update(**fields)
    if not updated:
        raise LeaseLost(f"job {claim.job_id} is no longer leased by {claim.worker_id}")


class LeaseKeeper:
    """Renews a lease from a daemon thread every ``tick`` seconds while a block runs.

    Subclasses say how (``renew``). ``lost`` is set, and the thread stops, once ``renew`` raises ``LeaseLost``;
    a database error is logged and tried again on a fresh connection, so a blip never gives a live lease away.
    """

    name = "lease"  # in log lines: "<name> failed; will retry"

    def __init__(self, *, tick: float, extra: dict[str, object]) -> None:
        self.tick = tick
        self.extra = extra  # the log lines' ids (job_id, part_id, clip_id), as the rest of that work logs them
        self.lost = threading.Event()
        self._stop = threading.Event()
        ids = "-".join(str(v) for v in extra.values())
        self._thread = threading.Thread(target=self._run, name=f"{self.name.replace(' ', '-')}-{ids}", daemon=True)

    def renew(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.tick):
                try:
                    self.renew()
                except LeaseLost:
                    self.lost.set()
                    return
                except DatabaseError as exc:
                    # A dropped connection stays dropped: close it so the next beat opens a fresh one.
                    log.warning("%s failed; will retry", self.name, extra={**self.extra, "error": repr(exc)[:300]})
                    connection.close()
                except Exception:  # noqa: BLE001 - the lease must keep being renewed whatever happens
                    log.exception("%s error; will retry", self.name, extra=self.extra)
        finally:
            connection.close()


class Heartbeat(LeaseKeeper):
    """Keeps a job's lease alive; stage/progress updates piggy-back on it.

    The lease needs a beat every quarter lease; the producer's progress bar needs one whenever the stage or
    percentage moved. Look every PROGRESS_TICK seconds and write when either is due, so even a job of a few
    seconds reports its stages (the first write used to wait a quarter of the lease).
    """

    name = "heartbeat"

    def __init__(self, claim: Claim) -> None:
        super().__init__(tick=PROGRESS_TICK, extra={"job_id": claim.job_id})
        self.claim = claim
        self.stage: str | None = None
        self.progress: int | None = None
        self._interval = max(1.0, settings.MEDIA_JOB_LEASE_SECONDS / 4)
        self._written: tuple[str | None, int | None] = (None, None)
        self._last = time.monotonic()

    def renew(self) -> None:
        now_state = (self.stage, self.progress)
        if now_state == self._written and time.monotonic() - self._last < self._interval:
            return
        job_heartbeat(claim=self.claim, stage=now_state[0], progress=now_state[1])
        self._written, self._last = now_state, time.monotonic()


def job_fail(job: ProcessingJob, reason: str) -> None:
    """Mark a (locked) job failed for good with a reason the producer reads."""
    job.state = State.FAILED
    job.error = reason
    job.lease_expires_at = None
    job.finished_at = timezone.now()
    job.save()
