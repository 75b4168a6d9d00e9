"""Celery's Redis transport, made to survive a Redis restart while a worker is busy.

    CELERY_BROKER_TRANSPORT = "media_hub.broker:Transport"   # set by settings.py for redis:// URLs

With celery 5.7 / kombu 5.7 / redis-py 8.1 a prefork worker with a free slot has a BRPOP outstanding. When Redis
goes away, Celery's ``on_connection_error_after_connected`` first calls ``connection.collect()``: it closes the
channel, and kombu's ``Channel.close()`` begins by reading that BRPOP's reply (kombu PR #1733, so a popped message
is not lost on shutdown). On a dead socket the read raises ``ConnectionError`` *before* the channel is marked
closed, so the close stops half-way; ``collect()`` swallows the error and detaches the transport
(``transport.client = None``). Celery then calls ``connection.close()``, which closes the same channel again; this
time the close goes on to restore the unacknowledged message of the running job, needs a new Redis pool, and
``_connparams`` reads ``self.connection.client.hostname`` → ``AttributeError``. That is not a connection error,
so ``ignore_errors`` lets it through and the worker stops with "Unrecoverable error".

The two overrides below: the close carries on when the pending reply cannot be read (the connection is gone; the
message, if Redis popped one, is re-sent by our sweeper from the job row), and a channel whose connection was
already closed raises a *connection* error, which Celery handles by reconnecting.
"""

from __future__ import annotations

import logging
from queue import Empty
from typing import Any

from kombu.transport import redis as kombu_redis
from redis import exceptions as redis_exceptions

log = logging.getLogger(__name__)


# kombu's stubs do not describe the Redis channel's private members used here.
_RedisChannel: Any = kombu_redis.Channel
_RedisTransport: Any = kombu_redis.Transport


class Channel(_RedisChannel):
    def close(self) -> None:
        if self._in_poll and not self.closed:
            try:
                self._brpop_read()
            except Empty:
                pass
            except self.connection_errors as exc:
                log.warning("broker connection lost while closing; finishing the close", extra={"error": repr(exc)})
        super().close()

    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection is None or self.connection.client is None:
            raise redis_exceptions.ConnectionError("this channel's broker connection is already closed")
        return super()._connparams(asynchronous=asynchronous)


class Transport(_RedisTransport):
    Channel = Channel
