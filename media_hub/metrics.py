"""``/metrics`` in the Prometheus text format.

    curl -s http://web:8000/metrics | grep media_hub_jobs

Job counts, job durations, queue depth and downloads are read at scrape time from the database and the broker,
so every web process reports the same figures whichever worker machine did the work (workers serve no HTTP).
Feed and media requests are counted in the web process that served them: set ``PROMETHEUS_MULTIPROC_DIR`` (an
empty folder per machine, wiped at start) under gunicorn so the counts of all its processes are added up.
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.signals import request_started
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

JOB_DURATION_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0)
QUEUES = ("media", "control", "default")
# kombu's Redis transport keeps messages sent with a priority in extra lists named queue + sep + priority.
REDIS_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

REQUESTS = Counter(
    "media_hub_http_requests",
    "Requests for feeds and for media files (/d/), by kind; every range request counts once.",
    ["kind"],
)
_FEED_PATH = re.compile(r"^/feeds/[^/]+\.xml$")


def _count_request(sender: Any, environ: dict[str, Any] | None = None, **kwargs: Any) -> None:
    path = str((environ or {}).get("PATH_INFO", ""))
    if _FEED_PATH.match(path):
        REQUESTS.labels(kind="feed").inc()
    elif path.startswith("/d/"):
        REQUESTS.labels(kind="media").inc()


# Connected when the URLconf imports this module, i.e. during a process's first request, which therefore is not
# counted (a middleware would count it; MIDDLEWARE belongs to the foundation's part of the settings).
request_started.connect(_count_request, dispatch_uid="media_hub.metrics.count_request")


class StackCollector(Collector):
    """Figures shared by the whole deployment, read when Prometheus scrapes."""

    def collect(self) -> Iterator[Metric]:
        for source in (self._jobs, self._durations, self._queues, self._downloads, self._liveness):
            try:
                yield from source()
            except Exception:  # noqa: BLE001 - one unreachable backend must not blank the whole scrape
                log.warning("metrics source failed", extra={"source": source.__name__}, exc_info=True)

    def _jobs(self) -> Iterable[Metric]:
        from episodes.models import ProcessingJob

        counts = dict.fromkeys([*ProcessingJob.State.values, "stale"], 0)
        for row in ProcessingJob.objects.values("state").annotate(n=Count("pk")):
            counts[row["state"]] = row["n"]
        # A running job whose lease ran out has no live worker: counted as "stale", not "running", until the
        # sweeper queues it again.
        stale = ProcessingJob.objects.filter(state=ProcessingJob.State.RUNNING, lease_expires_at__lt=timezone.now())
        counts["stale"] = stale.count()
        counts[ProcessingJob.State.RUNNING] -= counts["stale"]
        gauge = GaugeMetricFamily(
            "media_hub_jobs", "Processing jobs by state (stale: running with an expired lease).", labels=["state"]
        )
        for state, n in sorted(counts.items()):
            gauge.add_metric([state], n)
        yield gauge
        oldest = ProcessingJob.objects.filter(state=ProcessingJob.State.QUEUED).order_by("queued_at").first()
        age = (timezone.now() - oldest.queued_at).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily(
            "media_hub_oldest_queued_job_age_seconds", "How long the oldest queued job has waited.", value=age
        )

    def _durations(self) -> Iterable[Metric]:
        from episodes.models import ProcessingJob

        family = HistogramMetricFamily(
            "media_hub_job_duration_seconds",
            "From first start to finish of finished jobs (retries and backoff included), by outcome.",
            labels=["state"],
        )
        elapsed = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
        finished = ProcessingJob.objects.filter(started_at__isnull=False, finished_at__isnull=False)
        for state in (ProcessingJob.State.SUCCEEDED, ProcessingJob.State.FAILED):
            buckets = {
                f"le_{i}": Count("pk", filter=Q(elapsed__lte=timedelta(seconds=bound)))
                for i, bound in enumerate(JOB_DURATION_BUCKETS)
            }
            row = (
                finished.filter(state=state)
                .annotate(elapsed=elapsed)
                .aggregate(total=Count("pk"), seconds=Sum("elapsed"), **buckets)
            )
            cumulative = [(_le(bound), row[f"le_{i}"]) for i, bound in enumerate(JOB_DURATION_BUCKETS)]
            cumulative.append(("+Inf", row["total"]))
            total_s = row["seconds"].total_seconds() if row["seconds"] else 0.0
            family.add_metric([state], cumulative, total_s)
        yield family

    def _queues(self) -> Iterable[Metric]:
        gauge = GaugeMetricFamily("media_hub_queue_depth", "Messages waiting in each broker queue.", labels=["queue"])
        for queue, depth in queue_depths().items():
            gauge.add_metric([queue], depth)
        yield gauge

    def _liveness(self) -> Iterable[Metric]:
        from episodes.services.liveness import liveness

        state = liveness()
        age = GaugeMetricFamily(
            "media_hub_worker_heartbeat_age_seconds",
            "Seconds since the newest heartbeat of a worker consuming the queue (+Inf: never).",
            labels=["queue"],
        )
        live = GaugeMetricFamily(
            "media_hub_workers", "Workers consuming the queue with a fresh heartbeat.", labels=["queue"]
        )
        for queue, info in state.queues.items():
            age.add_metric([queue], math.inf if info.newest_age_s is None else info.newest_age_s)
            live.add_metric([queue], info.live_workers)
        yield age
        yield live
        yield GaugeMetricFamily(
            "media_hub_beat_tick_age_seconds",
            "Seconds since the active beat's last tick (+Inf: never).",
            value=math.inf if state.beat_age_s is None else state.beat_age_s,
        )

    def _downloads(self) -> Iterable[Metric]:
        from feeds.models import DailyDownloads

        row = DailyDownloads.objects.aggregate(
            episode=Sum("downloads", filter=Q(episode__isnull=False)),
            video=Sum("downloads", filter=Q(video__isnull=False)),
        )
        counter = CounterMetricFamily(
            "media_hub_downloads",
            "Downloads counted (IAB-style: one per listener and item per rolling 24 h).",
            labels=["kind"],
        )
        for kind in ("episode", "video"):
            counter.add_metric([kind], row[kind] or 0)
        yield counter


def _le(bound: float) -> str:
    return f"{bound:g}" if bound != int(bound) else f"{int(bound)}.0"


def queue_depths() -> dict[str, int]:
    """Messages waiting per queue: Redis list lengths, or message files of the file-system broker."""
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        pipe = client.pipeline()
        for queue in QUEUES:
            for suffix in REDIS_PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        lengths = pipe.execute()
        step = len(REDIS_PRIORITY_SUFFIXES)
        return {queue: sum(lengths[i * step : (i + 1) * step]) for i, queue in enumerate(QUEUES)}
    if url.startswith("filesystem://"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", settings.CELERY_BROKER_DIR)))
        names = [p.name for p in folder.glob("*.msg")] if folder.is_dir() else []
        return {queue: sum(1 for name in names if name.endswith(f".{queue}.msg")) for queue in QUEUES}
    return {}


_STACK = StackCollector()


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessCollector())
    registry.register(_STACK)
    return registry


class _ProcessCollector(Collector):
    """This process's own metrics (the default registry: request counts, Python and process figures)."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


@never_cache
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus scrape endpoint; with METRICS_TOKEN set, only ``Authorization: Bearer <token>`` may read it."""
    token = getattr(settings, "METRICS_TOKEN", "")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not constant_time_compare(given, token):
            return HttpResponse("Forbidden.\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
