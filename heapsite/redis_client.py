"""The app's own Redis client and keys (counters, marks); RQ's queues have their own connection (django-rq).

One client per process and timeout, created on first use. Keys carry the database's name, so a test
run and a development server that share one Redis stay apart.
"""

from functools import cache

import redis
from django.conf import settings
from django.db import connection
from redis.backoff import NoBackoff
from redis.retry import Retry


@cache
def _client(url: str, timeout: float | None) -> redis.Redis:
    if timeout is None:
        return redis.Redis.from_url(url)
    return redis.Redis.from_url(
        url, socket_connect_timeout=timeout, socket_timeout=timeout, retry=Retry(NoBackoff(), 0)
    )


def redis_client(*, timeout: float | None = None) -> redis.Redis:
    """The client for settings.REDIS_URL; with `timeout` (s), one that waits at most that long, no retry."""
    return _client(settings.REDIS_URL, timeout)


def redis_key(area: str, *parts: object) -> str:
    """heapsite:<area>:<database name>[:<part>...]."""
    return ":".join(["heapsite", area, connection.settings_dict["NAME"], *map(str, parts)])
