"""The Celery app: ``celery -A media_hub worker``; settings come from Django's ``CELERY_*``.

Each worker leaves a heartbeat in the database (episodes.services.liveness) from a thread of its main process,
so /metrics and /health/status can tell when no worker consumes a queue.
"""

import logging
import os
import socket
import threading
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "media_hub.settings")

app = Celery("media_hub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def use_django_logging(**kwargs: Any) -> None:
    """Keep Django's LOGGING (JSON lines, LOG_LEVEL): Celery would otherwise set the root logger to its --loglevel,
    WARNING by default, and drop the job log lines the README documents."""
    import django

    django.setup()  # applies settings.LOGGING (idempotent; the worker's Django fixup calls it too)


@worker_process_init.connect
def own_database_pool(**kwargs: Any) -> None:
    """A prefork child opens its own PostgreSQL pool instead of sharing the parent's sockets."""
    from media_hub.db_pool import forget_inherited_pools

    forget_inherited_pools()


log = logging.getLogger("media_hub.heartbeat")
_stop = threading.Event()


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    name = str(getattr(sender, "hostname", "") or socket.gethostname())
    try:
        queues = sorted(q.name for q in sender.task_consumer.queues)
    except AttributeError:
        queues = sorted(app.amqp.queues.consume_from or ["default"])
    holder = f"{socket.gethostname()}:{os.getpid()}"
    threading.Thread(target=_beat, args=(name, queues, holder), name="worker-heartbeat", daemon=True).start()


@worker_shutdown.connect
def _stop_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    from django.db import connection

    from episodes.services.liveness import worker_gone

    _stop.set()
    name = str(getattr(sender, "hostname", "") or "")
    if name:
        try:
            worker_gone(name=name)
        except Exception:  # noqa: BLE001 - the heartbeat then goes stale by itself
            log.warning("could not remove the worker heartbeat", exc_info=True)
        finally:
            connection.close()


def _beat(name: str, queues: list[str], holder: str) -> None:
    from django.conf import settings
    from django.db import connection

    from episodes.services.liveness import worker_heartbeat

    while not _stop.is_set():
        try:
            worker_heartbeat(name=name, queues=queues, holder=holder)
        except Exception as exc:  # noqa: BLE001 - keep beating; the database may be back next time
            log.warning("worker heartbeat failed", extra={"error": repr(exc)[:300]})
        finally:
            connection.close()
        _stop.wait(settings.PROCESS_HEARTBEAT_SECONDS)
