"""Health endpoints for load balancers: ``/health/live`` (the process answers) and ``/health/ready``."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

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
    # exists() on a key that is never written is cheap on disk and on S3 (one HEAD request).
    default_storage.exists("health/.probe")


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


@never_cache
@require_safe
def ready(request: HttpRequest) -> JsonResponse:
    results: dict[str, dict[str, object]] = {}
    healthy = True
    for name, check in CHECKS.items():
        started = time.perf_counter()
        error = _run_bounded(check, CHECK_TIMEOUT_SECONDS)
        results[name] = {"ok": error is None}
        if error is not None:
            healthy = False
            results[name]["error"] = error[:300]
        results[name]["ms"] = round((time.perf_counter() - started) * 1000, 1)
    body = {"status": "ok" if healthy else "unavailable", "checks": results}
    return JsonResponse(body, status=200 if healthy else 503)
