"""What a processing job does when something other than the media goes wrong: classify, retry, or fail clearly.

    failure = failure_for(exc)          # → Failure(reason for the producer, detail for the admin, retry?)
    db_retry(lambda: ..., what="swap", job_id=7)   # a few quick reconnect-and-retry rounds on a database blip

Storage trouble (S3 unreachable, 5xx, throttling) and database trouble (a dropped connection) are worth another
attempt with backoff; a missing source, refused credentials or a file ffmpeg cannot read are not.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, DataError, IntegrityError, InterfaceError, OperationalError, connection

from episodes.media.errors import FFmpegError, MediaError, MediaRejected, ProbeStarved

log = logging.getLogger("episodes.services.processing")
T = TypeVar("T")

# Quick in-place rounds for a database blip (a failover, a restarted pooler): 0.5 + 1 + 2 + 4 + 8 s.
DB_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# OperationalError also covers a missing table or a bad query: only connection-shaped trouble is retried.
TRANSIENT_DB_MESSAGE = re.compile(
    r"connect|connection|terminat|closed|server|shut ?down|recovery|locked|timeout|deadlock|serializ", re.I
)
# S3 error codes that mean "try again later" even when the status is not 5xx.
RETRYABLE_S3_CODES = {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable"}
MISSING_S3_CODES = {"NoSuchKey", "404", "NotFound"}


DATA_ERROR_REASON = (
    "The results could not be saved: the database refused some of the data this file produced. "
    "The uploaded file is kept; staff have the details."
)

UNEXPLAINED_FFMPEG_REASON = (
    "The file could not be converted: it may be damaged or use an unusual encoding. "
    "The uploaded file is kept; staff have the details."
)


class SourceMissing(Exception):
    """The uploaded file is not in storage (deleted, or never completed); no retry can help."""


@dataclass(frozen=True)
class Failure:
    reason: str  # shown to the producer
    detail: str  # shown to staff in the admin
    retry: bool
    kind: str  # for logs and metrics: media, ffmpeg, storage, database, data, timeout, internal


def _client_error_status(exc: ClientError) -> tuple[str, int]:
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return str(error.get("Code", "")), status


def is_missing(exc: BaseException) -> bool:
    """A read of a key that does not exist, as django-storages or boto3 report it."""
    if isinstance(exc, FileNotFoundError):
        return True
    if isinstance(exc, ClientError):
        code, status = _client_error_status(exc)
        return code in MISSING_S3_CODES or status == 404
    return False


def failure_for(exc: BaseException, *, max_attempts: int, attempt: int) -> Failure:
    """Classify an exception that stopped a job."""
    detail = repr(exc)
    last = attempt >= max_attempts
    if isinstance(exc, MediaRejected):
        return Failure(exc.reason, "", False, "media")
    if isinstance(exc, FFmpegError):
        if exc.reason.startswith("ffmpeg failed"):  # no known cause: ffmpeg's own words are for staff
            return Failure(UNEXPLAINED_FFMPEG_REASON, f"{exc.reason}\n{exc.stderr_tail}", False, "ffmpeg")
        return Failure(exc.reason, exc.stderr_tail, False, "ffmpeg")
    if isinstance(exc, SoftTimeLimitExceeded):
        return Failure("Processing took longer than this file's time limit and was stopped.", detail, False, "timeout")
    if isinstance(exc, SourceMissing):
        return Failure("The uploaded file is missing from storage; please upload it again.", detail, False, "storage")
    if isinstance(exc, ClientError):
        code, status = _client_error_status(exc)
        if status >= 500 or code in RETRYABLE_S3_CODES:
            return _storage_unavailable(detail, last, attempt)
        return Failure(f"Media storage refused the request ({code or status}); check the storage settings.",
                       detail, False, "storage")  # fmt: skip
    if isinstance(exc, BotoCoreError):  # EndpointConnectionError, timeouts, connection closed mid-transfer
        return _storage_unavailable(detail, last, attempt)
    if isinstance(exc, DatabaseError):
        if isinstance(exc, IntegrityError | DataError):  # the database answered and refused this data
            return Failure(DATA_ERROR_REASON, detail, False, "data")
        if not is_transient_db_error(exc):  # a bad query or schema: a fault of ours, not an outage
            return Failure("An unexpected error interrupted processing.", detail, True, "internal")
        reason = "The database was unavailable" + (f" on {attempt} attempts." if last else "; processing will retry.")
        return Failure(reason, detail, True, "database")
    if isinstance(exc, ProbeStarved):
        reason = _retrying("The server was too busy to analyse the file", last, attempt, "later")
        return Failure(reason, detail, True, "timeout")
    if isinstance(exc, OSError | MediaError):
        return Failure("A temporary problem interrupted processing.", detail, True, "internal")
    return Failure("An unexpected error interrupted processing.", detail, True, "internal")


def _storage_unavailable(detail: str, last: bool, attempt: int) -> Failure:
    return Failure(_retrying("Media storage was unavailable", last, attempt, "once storage is back"), detail, True,
                   "storage")  # fmt: skip


def _retrying(problem: str, last: bool, attempt: int, when: str) -> str:
    """The reason for a failure that is retried: that it will be, or, after the last attempt, what to do."""
    if last:
        return f"{problem} on {attempt} attempts. The uploaded file is kept: re-process it {when}."
    return f"{problem}; processing will retry."


def retry_countdown(attempts: int) -> int:
    """Seconds before attempt ``attempts + 1``: exponential backoff from MEDIA_JOB_RETRY_BACKOFF_SECONDS, ≤ 300."""
    base = max(1, int(getattr(settings, "MEDIA_JOB_RETRY_BACKOFF_SECONDS", 5)))
    return int(min(300, base * 2 ** max(0, attempts - 1)))


# What a producer reads while a job waits out an outage, by the failure's kind.
OUTAGE_STAGES = {"storage": "waiting_storage", "database": "waiting_db"}
OUTAGE_REASONS = {
    "storage": "Waiting for storage: media storage is unavailable. Processing resumes by itself when it is back",
    "database": "Waiting for the database: it is unavailable. Processing resumes by itself when it is back",
}


def outage_countdown(retries: int) -> int:
    """Seconds before outage retry ``retries + 1``: doubling from MEDIA_JOB_RETRY_BACKOFF_SECONDS up to
    MEDIA_JOB_OUTAGE_BACKOFF_MAX_SECONDS (30 minutes by default)."""
    base = max(1, int(getattr(settings, "MEDIA_JOB_RETRY_BACKOFF_SECONDS", 5)))
    ceiling = max(base, int(getattr(settings, "MEDIA_JOB_OUTAGE_BACKOFF_MAX_SECONDS", 1800)))
    return int(min(ceiling, base * 2 ** min(max(0, retries), 30)))


def outage_wait(job: Any, kind: str) -> tuple[str, int, str] | None:
    """For a job stopped by a storage or database outage with retries left: (stage, countdown, reason)."""
    if kind not in OUTAGE_STAGES or job.outage_retries >= int(getattr(settings, "MEDIA_JOB_OUTAGE_RETRIES", 24)):
        return None
    countdown = outage_countdown(job.outage_retries)
    when = f"{countdown} s" if countdown < 120 else f"{round(countdown / 60)} min"
    return OUTAGE_STAGES[kind], countdown, f"{OUTAGE_REASONS[kind]} (next try in {when})."


def is_transient_db_error(exc: BaseException) -> bool:
    """A dropped, refused or contended connection: worth reconnecting and trying again.

    A data error (IntegrityError, DataError) never is, whatever the state of the connection afterwards (on
    PostgreSQL a failed transaction leaves it unusable until the rollback).
    """
    if isinstance(exc, IntegrityError | DataError):
        return False
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if connection.connection is not None and not connection.is_usable():
        return True
    return bool(TRANSIENT_DB_MESSAGE.search(str(exc)))


def db_retry(fn: Callable[[], T], *, what: str, job_id: int, delays: tuple[float, ...] = DB_RETRY_DELAYS) -> T:
    """Run ``fn``; on a dropped or refused database connection, reconnect and run it again a few times.

    ``fn`` must be safe to repeat (its own transaction, or a re-checked state). Inside an outer transaction
    nothing can be retried, so the error is raised at once.
    """
    for delay in (*delays, None):
        try:
            return fn()
        except DatabaseError as exc:
            if delay is None or connection.in_atomic_block or not is_transient_db_error(exc):
                raise
            log.warning(
                "database unavailable; retrying",
                extra={"job_id": job_id, "step": what, "retry_in_s": delay, "error": repr(exc)[:300]},
            )
            connection.close()
            time.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover
