"""Sending processing jobs to the broker: the committed job row is the outbox, the message is best effort.

    job_send_on_commit(job.pk)          # inside the writing transaction: sent after the commit, never raises
    jobs_send_unsent(now=now)           # the sweeper: jobs whose message never reached the broker

A write (an upload, a re-process, a retry) succeeds once its rows are committed. If the broker is down then,
the job stays queued with ``sent_at`` empty and the sweeper sends it within one sweep interval.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from episodes.models import ProcessingJob

log = logging.getLogger("episodes.services.processing")
State = ProcessingJob.State

# A job created this recently is left to its own on-commit send (which may still be under way).
SEND_GRACE = timedelta(seconds=5)


def message_send(task: Any, row_id: int, *, noun: str, sent: QuerySet[Any], countdown: int | None = None) -> bool:
    """Hand a row's message to the broker and stamp ``sent`` (the row, still queued) with ``sent_at``; False
    (logged, never raised) when the broker is down: the row stays the outbox, and a sweeper sends it later."""
    try:
        # retry=False: with the broker down, give up at once; the sweeper sends it later.
        task.apply_async((row_id,), countdown=countdown or 0, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the row for the sweeper
        log.warning(f"broker unavailable; the sweeper will send the {noun}",
                    extra={f"{noun}_id": row_id, "error": repr(exc)[:300]})  # fmt: skip
        return False
    try:
        sent.update(sent_at=timezone.now())
    except Exception:  # noqa: BLE001 - the message is out; a resend later is harmless
        log.warning("could not record that %s %s was sent", noun, row_id, exc_info=True)
    return True


def job_send(job_id: int, *, countdown: int | None = None) -> bool:
    """Hand the job's message to the broker and note when; False (logged, never raised) when the broker is down."""
    from episodes.tasks import process_media

    queued = ProcessingJob.objects.filter(pk=job_id, state=State.QUEUED)
    return message_send(process_media, job_id, noun="job", sent=queued, countdown=countdown)


def job_send_on_commit(job_id: int, *, countdown: int | None = None) -> None:
    """Send the job once the current transaction commits; a broker failure never undoes or fails the write."""
    transaction.on_commit(partial(job_send, job_id, countdown=countdown), robust=True)


def jobs_send_unsent(*, now: datetime | None = None) -> list[int]:
    """Send queued jobs whose message never reached the broker (and whose back-off, if any, is over)."""
    now = now or timezone.now()
    due = ProcessingJob.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lte=now),
        state=State.QUEUED,
        sent_at__isnull=True,
        queued_at__lt=now - SEND_GRACE,
    )
    sent = []
    for job_id in list(due.values_list("pk", flat=True)):
        if job_send(job_id):
            sent.append(job_id)
        else:
            break  # the broker is down: the next sweep tries again
    return sent


def jobs_resend_lost(*, now: datetime, older_than: timedelta) -> list[int]:
    """Send again queued jobs whose message went out long ago but nobody picked up (lost with a broker restart)."""
    cutoff = now - older_than
    lost = ProcessingJob.objects.filter(
        Q(retry_at__isnull=True) | Q(retry_at__lt=cutoff), state=State.QUEUED, sent_at__lt=cutoff
    )
    resent = []
    for job_id in list(lost.values_list("pk", flat=True)):
        if not job_send(job_id):
            break
        resent.append(job_id)
    return resent
