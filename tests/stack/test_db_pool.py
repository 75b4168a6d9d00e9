"""The connection budget on PostgreSQL: a process never holds more than its pool's DATABASE_POOL_MAX_SIZE."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

from tests.conftest import need

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _backends(db: dict[str, Any]) -> int:
    """Sessions open on the test database, counted by PostgreSQL itself (from outside Django's pool)."""
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=int(db["PORT"] or 5432), user=db["USER"] or "postgres",
                         dbname="postgres", autocommit=True) as admin:  # fmt: skip
        row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (db["NAME"],)).fetchone()
    assert row is not None
    return int(row[0])


def test_eight_threads_share_a_pool_of_four_connections() -> None:
    if connection.vendor != "postgresql":
        need("PostgreSQL", "the connection pool is PostgreSQL's (DATABASE_URL=postgres://…)")
    db = connection.settings_dict
    pool = db["OPTIONS"]["pool"]
    assert pool["max_size"] == settings.DATABASE_POOL_MAX_SIZE == 4 and db["CONN_MAX_AGE"] == 0
    finished: list[float] = []
    errors: list[BaseException] = []
    peak = [0]

    def query() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(0.4)")
            finished.append(time.monotonic())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections["default"].close()  # back to the pool, as Django does at the end of a request

    started = time.monotonic()
    threads = [threading.Thread(target=query) for _ in range(8)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        peak[0] = max(peak[0], _backends(db))
        time.sleep(0.05)
    assert not errors, errors
    assert len(finished) == 8
    # Four at a time: the second four waited for a connection instead of opening their own.
    assert max(finished) - started >= 0.75
    # Our own sessions: at most the pool's four, plus this test thread's connection (its own pool slot is shared).
    assert peak[0] <= pool["max_size"] + 1, peak[0]
