"""Part leases: like a job's (episodes.services.leases), one worker at a time per chunk, sound or join part.

claim = part_claim(part_id=7, worker_id="host:123")   # None: done, taken by a live worker, or an old attempt
with PartBeat(claim) as beat: ...                     # extends the part's lease and its job's
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from episodes.models import ChunkPart, ProcessingJob

from .leases import LeaseKeeper, LeaseLost

PartState = ChunkPart.State


@dataclass(frozen=True)
class PartClaim:
    part_id: int
    job_id: int
    attempt: int
    worker_id: str
    tries: int


def _lease() -> timedelta:
    return timedelta(seconds=settings.MEDIA_JOB_LEASE_SECONDS)


def _job_is_chunked(job: ProcessingJob, attempt: int) -> bool:
    return (
        job.state == ProcessingJob.State.RUNNING
        and job.attempts == attempt
        and job.lease_owner == (f"chunked:{attempt}")
    )


def part_claim(*, part_id: int, worker_id: str) -> PartClaim | None:
    """Take the part's lease, or return None when there is nothing for this worker to do."""
    now = timezone.now()
    with transaction.atomic():
        part = ChunkPart.objects.select_for_update().filter(pk=part_id).first()
        if part is None or part.state == PartState.DONE:
            return None
        job = ProcessingJob.objects.get(pk=part.job_id)
        if not _job_is_chunked(job, part.attempt):
            return None  # an older attempt's part, or the job is over
        if part.state == PartState.RUNNING and part.lease_expires_at and part.lease_expires_at > now:
            return None
        part.tries += 1
        part.state, part.progress = PartState.RUNNING, 0
        part.lease_owner, part.lease_expires_at = worker_id, now + _lease()
        part.save()
        return PartClaim(part.pk, part.job_id, part.attempt, worker_id, part.tries)


def part_heartbeat(claim: PartClaim, progress: int | None) -> None:
    """Extend the part's lease and its job's; raise LeaseLost when the part is no longer ours."""
    now = timezone.now()
    fields: dict[str, object] = {"lease_expires_at": now + _lease()}
    if progress is not None:
        fields["progress"] = max(0, min(100, progress))
    mine = ChunkPart.objects.filter(pk=claim.part_id, lease_owner=claim.worker_id, tries=claim.tries,
                                    state=PartState.RUNNING)  # fmt: skip
    if not mine.update(**fields):
        raise LeaseLost(f"part {claim.part_id} is no longer leased by {claim.worker_id}")
    ProcessingJob.objects.filter(
        pk=claim.job_id, attempts=claim.attempt, lease_owner=f"chunked:{claim.attempt}", state="running"
    ).update(lease_expires_at=now + _lease(), heartbeat_at=now)


def part_finish_checked(claim: PartClaim) -> ChunkPart:
    """Lock the part (inside a transaction) and check it is still ours; raise LeaseLost otherwise."""
    part = ChunkPart.objects.select_for_update().get(pk=claim.part_id)
    job = ProcessingJob.objects.get(pk=claim.job_id)
    ours = part.lease_owner == claim.worker_id and part.tries == claim.tries and part.state == PartState.RUNNING
    if not ours or not _job_is_chunked(job, claim.attempt):
        raise LeaseLost(f"part {claim.part_id} was taken over")
    return part


class PartBeat(LeaseKeeper):
    """Keeps a part's lease (and its job's) alive from a thread while ffmpeg runs; progress rides along."""

    name = "part heartbeat"

    def __init__(self, claim: PartClaim) -> None:
        tick = min(2.0, max(0.5, settings.MEDIA_JOB_LEASE_SECONDS / 4))
        super().__init__(tick=tick, extra={"part_id": claim.part_id})
        self.claim = claim
        self.progress: int | None = None

    def renew(self) -> None:
        part_heartbeat(self.claim, self.progress)
