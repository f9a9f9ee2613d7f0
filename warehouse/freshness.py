"""New-data marks: how the warehouse is synced seconds after events arrive, at no cost when idle.

Ingestion, after its transaction commits, sets one field of a Redis hash: HSETNX <environment id>
<arrival time>. Only the first batch since the last sync sets it; later ones are no-ops, so many
batches coalesce into one mark and one sync. The scheduler reads the hash every second (one Redis
call, whatever the number of environments) and asks for an incremental sync of each marked
environment (warehouse.scheduling.poll). The run takes the mark (HDEL) *before* it picks its
watermark, so every batch whose mark it took committed before the run's snapshot and is in it; a
batch that arrives after sets a new mark and gets the next run.

Redis is a hint here, never the record: when it cannot be reached, ingestion still commits and
answers 2xx (the mark is skipped, logged once per outage) and the interval sync picks the data up.
"""

import logging
import time
from datetime import UTC, datetime

import redis
from redis.exceptions import RedisError

from heapsite.redis_client import redis_client, redis_key

logger = logging.getLogger(__name__)

# Ingestion waits this long for Redis at most, and after a failure skips marking this long:
# a request never pays more than one short timeout per outage window.
_TIMEOUT_SECONDS = 0.25
_BACK_OFF_SECONDS = 10.0
_down_until = 0.0


def _redis() -> redis.Redis:
    return redis_client(timeout=_TIMEOUT_SECONDS)


def _key() -> str:
    return redis_key("new-data")


def new_data_mark(*, environment_id: int) -> None:
    """Say that the environment has committed raw data the warehouse has not seen (call after commit)."""
    global _down_until
    if time.monotonic() < _down_until:
        return
    try:
        _redis().hsetnx(_key(), str(environment_id), repr(time.time()))
    except RedisError as error:
        _down_until = time.monotonic() + _BACK_OFF_SECONDS
        logger.warning(
            "Redis is unavailable (%s): new events of environment %s wait for its interval sync", error, environment_id
        )


def new_data_pending() -> dict[int, datetime]:
    """{environment id: arrival time of its oldest unsynced marked batch}. Raises RedisError."""
    marks = _redis().hgetall(_key())
    return {int(field): datetime.fromtimestamp(float(value), UTC) for field, value in marks.items()}


def new_data_take(*, environment_id: int) -> datetime | None:
    """Remove the environment's mark (a run is about to pick its watermark); its arrival time, or None
    when there was none or Redis cannot be reached (the run goes on without it)."""
    try:
        with _redis().pipeline(transaction=True) as pipe:
            value, _ = pipe.hget(_key(), str(environment_id)).hdel(_key(), str(environment_id)).execute()
    except RedisError as error:
        logger.warning("Redis is unavailable (%s): this run does not know how fresh its data is", error)
        return None
    return datetime.fromtimestamp(float(value), UTC) if value is not None else None
