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


def test_a_request_that_finds_the_pool_busy_gets_a_json_503() -> None:
    if connection.vendor != "postgresql":
        need("PostgreSQL", "the connection pool is PostgreSQL's (DATABASE_URL=postgres://…)")
    from django.test import Client
    from django.urls import resolve

    resolve("/api/v1/media")  # load the URLconf and the API now, not while the pool is held
    wrapper: Any = connections["default"]  # the PostgreSQL wrapper (close_pool)
    wrapper.close_pool()
    # Each thread's wrapper is made from connections.settings; the pool is built from the first one to connect.
    pool_options = [connections.settings["default"]["OPTIONS"]["pool"], wrapper.settings_dict["OPTIONS"]["pool"]]
    for options in pool_options:
        options["timeout"] = 1
    holding = threading.Barrier(5)
    answers: list[Any] = []

    def hold() -> None:
        try:
            with connections["default"].cursor() as cursor:
                holding.wait()
                cursor.execute("SELECT pg_sleep(8)")
        finally:
            connections["default"].close()

    def ask() -> None:
        holding.wait()
        time.sleep(0.2)
        try:
            answers.append(Client().get("/api/v1/media"))
        finally:
            connections["default"].close()

    try:
        threads = [threading.Thread(target=hold) for _ in range(4)] + [threading.Thread(target=ask)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        wrapper.close_pool()
        for options in pool_options:
            options["timeout"] = settings.DATABASE_POOL_TIMEOUT
    [response] = answers
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert response.json()["error"]["code"] == "database_unavailable"
