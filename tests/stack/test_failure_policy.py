"""Which failures a job retries (storage and database trouble) and which end it with a reason at once."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DataError, IntegrityError, OperationalError, ProgrammingError

from episodes.media.errors import FFmpegError, MediaRejected, ProbeStarved
from episodes.services.processing_faults import (
    SourceMissing,
    db_retry,
    failure_for,
    is_missing,
    is_transient_db_error,
    retry_countdown,
)


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize(
    ("exc", "retry", "kind"),
    [
        (EndpointConnectionError(endpoint_url="http://s3:8333/b/k"), True, "storage"),
        (ReadTimeoutError(endpoint_url="http://s3:8333/b/k"), True, "storage"),
        (client_error("InternalError", 500), True, "storage"),
        (client_error("ServiceUnavailable", 503), True, "storage"),
        (client_error("SlowDown", 503), True, "storage"),
        (client_error("AccessDenied", 403), False, "storage"),
        (SourceMissing("sources/x.wav"), False, "storage"),
        (OperationalError("server closed the connection unexpectedly"), True, "database"),
        (IntegrityError('CHECK constraint failed: (JSON_VALID("loudness"))'), False, "data"),
        (DataError("invalid input syntax for type json"), False, "data"),
        (ProgrammingError("relation episodes_rendition does not exist"), True, "internal"),
        (OperationalError("no such table: episodes_processingjob"), True, "internal"),
        (MediaRejected("This file has no audio."), False, "media"),
        (FFmpegError("ffmpeg failed", stderr_tail="moov atom not found"), False, "ffmpeg"),
        (SoftTimeLimitExceeded(), False, "timeout"),
        (ProbeStarved("the probe got 0.01 s of CPU in its 30 s"), True, "timeout"),
        (OSError(28, "No space left on device"), True, "internal"),
        (KeyError("surprise"), True, "internal"),
    ],
)
def test_failures_are_classified(exc: BaseException, retry: bool, kind: str) -> None:
    failure = failure_for(exc, max_attempts=3, attempt=1)
    assert (failure.retry, failure.kind) == (retry, kind)
    assert failure.reason and "Traceback" not in failure.reason
    # Only a database that did not answer is reported as unavailable.
    assert ("database was unavailable" in failure.reason) == (kind == "database")


def test_the_last_storage_failure_says_what_happened_and_what_to_do() -> None:
    reason = failure_for(EndpointConnectionError(endpoint_url="http://s3"), max_attempts=3, attempt=3).reason
    assert "unavailable on 3 attempts" in reason and "uploaded file is kept" in reason and "re-process" in reason


def test_a_starved_probe_retries_then_says_the_server_was_busy() -> None:
    first = failure_for(ProbeStarved("0.01 s of CPU"), max_attempts=3, attempt=1).reason
    last = failure_for(ProbeStarved("0.01 s of CPU"), max_attempts=3, attempt=3).reason
    assert "too busy" in first and "will retry" in first
    assert "too busy" in last and "on 3 attempts" in last and "re-process" in last


def test_a_missing_key_is_recognised_however_it_is_reported() -> None:
    assert is_missing(FileNotFoundError("sources/x"))
    assert is_missing(client_error("NoSuchKey", 404)) and is_missing(client_error("404", 404))
    assert not is_missing(client_error("AccessDenied", 403))


def test_backoff_doubles_from_the_configured_base_and_is_capped(settings: Any) -> None:
    settings.MEDIA_JOB_RETRY_BACKOFF_SECONDS = 5
    assert [retry_countdown(n) for n in (1, 2, 3, 4)] == [5, 10, 20, 40]
    assert retry_countdown(20) == 300


def test_only_connection_shaped_database_errors_are_retried_in_place() -> None:
    assert is_transient_db_error(OperationalError("terminating connection due to administrator command"))
    assert is_transient_db_error(OperationalError("database is locked"))
    assert not is_transient_db_error(OperationalError("no such table: episodes_processingjob"))
    assert not is_transient_db_error(ProgrammingError("syntax error"))

    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("could not connect to server: Connection refused")
        return "done"

    assert db_retry(flaky, what="test", job_id=1, delays=(0, 0, 0)) == "done" and len(calls) == 3

    def broken() -> None:
        raise OperationalError("no such table: x")

    with pytest.raises(OperationalError):
        db_retry(broken, what="test", job_id=1, delays=(0, 0))


def test_an_outage_waits_with_backoff_up_to_half_an_hour_then_is_bounded(settings: Any) -> None:
    from types import SimpleNamespace

    from episodes.services.processing_faults import outage_countdown, outage_wait

    settings.MEDIA_JOB_RETRY_BACKOFF_SECONDS = 5
    settings.MEDIA_JOB_OUTAGE_BACKOFF_MAX_SECONDS = 1800
    settings.MEDIA_JOB_OUTAGE_RETRIES = 24
    delays = [outage_countdown(n) for n in range(24)]
    assert delays[:5] == [5, 10, 20, 40, 80] and max(delays) == 1800 and delays[-1] == 1800
    assert 6 * 3600 < sum(delays) < 9 * 3600  # storage may stay down for hours before a job gives up
    stage, countdown, reason = outage_wait(SimpleNamespace(outage_retries=9), "storage") or ("", 0, "")
    assert (stage, countdown) == ("waiting_storage", 1800)
    assert reason.startswith("Waiting for storage") and "next try in 30 min" in reason
    assert outage_wait(SimpleNamespace(outage_retries=0), "database")[0] == "waiting_db"  # type: ignore[index]
    assert outage_wait(SimpleNamespace(outage_retries=24), "storage") is None  # bounded: then the job fails
    assert outage_wait(SimpleNamespace(outage_retries=0), "ffmpeg") is None  # only outages wait
