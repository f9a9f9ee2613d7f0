"""Requests per minute of one labeler session, counted in Redis (every web process sees the same count)."""

import time
from functools import cache

import redis
from django.conf import settings
from django.db import connection

from .services import LabelerRefused


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


def labeler_rate_check(*, token_key: str) -> None:
    """Count one request of the session; raises LabelerRefused(429) past LABELER_RATE_LIMIT_PER_MINUTE."""
    # The database name keeps a test run and a development server on one Redis apart.
    key = f"heapsite:labeler:{connection.settings_dict['NAME']}:rate:{token_key}"
    now = time.time()
    with _client(settings.REDIS_URL).pipeline() as pipe:
        pipe.zremrangebyscore(key, 0, now - 60)
        pipe.zadd(key, {f"{now}:{time.monotonic_ns()}": now})
        pipe.zcard(key)
        pipe.expire(key, 61)
        _, _, count, _ = pipe.execute()
    most = settings.LABELER_RATE_LIMIT_PER_MINUTE
    if count > most:
        raise LabelerRefused(429, f"the labeler may make {most} requests per minute: wait a moment")
