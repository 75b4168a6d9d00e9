"""PostgreSQL connection pools across ``fork()``: a forked child must build its own pool.

Django keeps one psycopg pool per process (``DatabaseWrapper._connection_pools``). A Celery prefork child that
inherits its parent's pool would share the parent's sockets and has none of the pool's worker threads. Closing
the inherited pool (or letting it be garbage-collected) would send PostgreSQL a Terminate on sockets the parent
still uses, so the child only sets it aside, untouched, and opens its own on first use.

    forget_inherited_pools()   # in celery's worker_process_init
"""

from __future__ import annotations

from typing import Any

# Inherited pools, kept referenced so they are never collected (and never close the parent's connections).
_inherited: list[Any] = []


def forget_inherited_pools() -> None:
    from django.db.backends.postgresql.base import DatabaseWrapper

    pools: dict[str, Any] = DatabaseWrapper._connection_pools  # type: ignore[attr-defined]
    for alias in list(pools):
        _inherited.append(pools.pop(alias))
