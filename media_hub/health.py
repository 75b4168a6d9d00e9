"""Health endpoints: ``/health/live`` (the process answers), ``/health/ready`` (load balancers) and
``/health/status`` (operators and monitoring).

``/ready`` fails only on what a web process cannot serve without: the database, storage and ffmpeg. The broker is
checked and reported there but does not fail it: writes never depend on the broker (the job row is the outbox, the
sweeper sends what was not sent), so a Redis restart must not take every web machine out of rotation at once.
``/status`` fails on anything missing, the broker included.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    from media_hub.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_storage() -> None:
    """The bucket exists and takes a write: a probe object is written and deleted (a 404 is not healthy)."""
    bucket = getattr(default_storage, "bucket_name", None)
    if bucket:
        # SeaweedFS creates a missing bucket on the first write, AWS S3 does not: ask about the bucket itself.
        default_storage.bucket.meta.client.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    name = default_storage.save(f"health/probe-{uuid.uuid4().hex}", ContentFile(b"ok"))
    default_storage.delete(name)


def _check_ffmpeg() -> None:
    from episodes.media_config import ffmpeg_binary

    binary = ffmpeg_binary()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"{binary} is not executable")


# A load balancer must get an answer quickly even when a dependency drops packets instead of refusing them.
CHECK_TIMEOUT_SECONDS = 3.0


def _run_bounded(check: Callable[[], None], timeout: float) -> str | None:
    """Run a check in a daemon thread; return None when it passed, else what went wrong."""
    outcome: list[str | None] = []

    def target() -> None:
        try:
            check()
            outcome.append(None)
        except Exception as exc:  # noqa: BLE001 - any failure makes the instance not ready
            outcome.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()  # the thread's own database connection

    thread = threading.Thread(target=target, name="health-check", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return f"no answer within {timeout:g} s"
    return outcome[0]


CHECKS: dict[str, Callable[[], None]] = {
    "database": _check_database,
    "broker": _check_broker,
    "storage": _check_storage,
    "ffmpeg": _check_ffmpeg,
}


@never_cache
@require_safe
def live(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


# Checked by /ready, but a web process still serves without them (reported, never failing /ready).
NOT_REQUIRED_TO_SERVE = frozenset({"broker"})


def _run_checks() -> tuple[bool, dict[str, dict[str, object]]]:
    """Every check's outcome, and whether this web process can serve (the required checks passed)."""
    results: dict[str, dict[str, object]] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        error = _run_bounded(check, CHECK_TIMEOUT_SECONDS)
        results[name] = {"ok": error is None}
        if name in NOT_REQUIRED_TO_SERVE:
            results[name]["required"] = False
        if error is not None:
            healthy = healthy and name in NOT_REQUIRED_TO_SERVE
            results[name]["error"] = error[:300]
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return healthy, results


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    """For load balancers: can this web process serve (database, storage, ffmpeg; the broker is only reported)?"""
    healthy, results = _run_checks()
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
    return JsonResponse(body, status=200 if healthy else 503)


@never_cache
@require_safe
def status(request: HttpRequest) -> JsonResponse:
    """For operators and monitoring: the readiness checks plus the background processes (workers per queue, beat).

    503 with ``missing`` naming what is down. Not for load balancers: a missing worker must not take the web
    processes out of rotation.
    """
    from episodes.services.liveness import liveness

    healthy, results = _run_checks()
    body: dict[str, object] = {"checks": results}
    try:
        state = liveness()
    except Exception as exc:  # noqa: BLE001 - the database check above already says why
        missing = [f"process heartbeats unreadable: {type(exc).__name__}"]
    else:
        missing = state.missing
        body["workers"] = {
            queue: {"live": info.live_workers, "newest_heartbeat_age_s": _round(info.newest_age_s)}
            for queue, info in state.queues.items()
        }
        body["beat"] = {"holder": state.beat_holder, "last_tick_age_s": _round(state.beat_age_s)}
    missing = [f"{name}: {r.get('error', 'failed')}" for name, r in results.items() if not r["ok"]] + missing
    body = {"status": "ok" if not missing else "degraded", "missing": missing, **body}
    return JsonResponse(body, status=200 if not missing else 503)


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
