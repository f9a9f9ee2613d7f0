"""Requests per minute of one labeler session, counted in Redis (every web process sees the same count)."""

import time

from django.conf import settings
from redis.exceptions import RedisError

from heapsite.redis_client import redis_client, redis_key

from .services import LabelerRefused

# The labeler waits this long for Redis at most: an outage is a clear refusal, not a hung overlay.
_TIMEOUT_SECONDS = 2.0


def labeler_rate_check(*, token_key: str) -> None:
    """Count one request of the session; raises LabelerRefused: 429 past LABELER_RATE_LIMIT_PER_MINUTE,
    503 when Redis cannot count (nothing runs uncounted)."""
    key = redis_key("labeler", "rate", token_key)
    now = time.time()
    try:
        with redis_client(timeout=_TIMEOUT_SECONDS).pipeline() as pipe:
            pipe.zremrangebyscore(key, 0, now - 60)
            pipe.zadd(key, {f"{now}:{time.monotonic_ns()}": now})
            pipe.zcard(key)
            pipe.expire(key, 61)
            _, _, count, _ = pipe.execute()
    except RedisError as error:
        raise LabelerRefused(
            503, f"heapsite cannot reach Redis to count this session's requests ({error}): try again in a moment"
        ) from error
    most = settings.LABELER_RATE_LIMIT_PER_MINUTE
    if count > most:
        raise LabelerRefused(429, f"the labeler may make {most} requests per minute: wait a moment")
