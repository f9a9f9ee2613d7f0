"""Per-user limits on running SQL (rate and concurrency) and the registry of running queries, in Redis.

Redis, not the database: every web process must see the same counters, and a crashed process's
entries expire on their own.
"""

import re
import time

from django.conf import settings

from heapsite.redis_client import redis_client, redis_key

RUN_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class LimitExceeded(Exception):
    def __init__(self, message: str, *, error_class: str):
        super().__init__(message)
        self.message = message
        self.error_class = error_class


def _key(*parts: object) -> str:
    return redis_key("sqlpage", *parts)


def query_slot_acquire(*, user_id: int, token: str, ttl_seconds: int) -> None:
    """Count one run against the user's per-minute rate and hold one of their concurrent slots.

    Raises LimitExceeded with a message saying which limit was hit and what to do.
    """
    client = redis_client()
    now = time.time()
    rate_key = _key("rate", user_id)
    running_key = _key("running", user_id)
    # One round trip: record the run in a sliding one-minute window, and take a slot (dropping the
    # expired entries of crashed processes).
    with client.pipeline() as pipe:
        pipe.zremrangebyscore(rate_key, 0, now - 60)
        pipe.zadd(rate_key, {f"{token}:{now}": now})
        pipe.zcard(rate_key)
        pipe.zrange(rate_key, 0, 0, withscores=True)
        pipe.expire(rate_key, 61)
        pipe.zremrangebyscore(running_key, 0, now)
        pipe.zadd(running_key, {token: now + ttl_seconds})
        pipe.zcard(running_key)
        pipe.expire(running_key, ttl_seconds)
        _, _, count, oldest, _, _, _, running, _ = pipe.execute()
    per_minute = settings.SQLPAGE_RATE_LIMIT_PER_MINUTE
    most = settings.SQLPAGE_MAX_CONCURRENT_PER_USER
    if count > per_minute or running > most:
        client.zrem(running_key, token)
    if count > per_minute:
        wait = max(1, int(60 - (now - oldest[0][1])) + 1) if oldest else 60
        raise LimitExceeded(
            f"rate limit: you can run {per_minute} queries per minute; try again in {wait} s",
            error_class="RateLimited",
        )
    if running > most:
        raise LimitExceeded(
            f"you already have {most} queries running (the limit); wait for one to finish or cancel it",
            error_class="TooManyRunning",
        )


def query_slot_release(*, user_id: int, token: str) -> None:
    client = redis_client()
    with client.pipeline() as pipe:
        pipe.zrem(_key("running", user_id), token)
        pipe.delete(_key("backend", user_id, token), _key("cancel", user_id, token))
        pipe.execute()


def cancel_mark(*, user_id: int, token: str, ttl_seconds: int = 3600) -> None:
    """Remember that the user cancelled this run: a cancel that reaches the server between two of the run's
    statements (when pg_cancel_backend has nothing to cancel) still stops it before the next one."""
    redis_client().set(_key("cancel", user_id, token), 1, ex=ttl_seconds)


def cancel_marked(*, user_id: int, token: str) -> bool:
    return bool(redis_client().exists(_key("cancel", user_id, token)))


def backend_register(*, user_id: int, token: str, pid: int, ttl_seconds: int) -> None:
    """Remember which server process runs the user's query, so a cancel request can reach it."""
    redis_client().set(_key("backend", user_id, token), pid, ex=ttl_seconds)


def backend_lookup(*, user_id: int, token: str) -> int | None:
    """The backend pid of the user's own running query (keyed by user: nobody can look up another's)."""
    value = redis_client().get(_key("backend", user_id, token))
    return int(value) if value is not None else None
