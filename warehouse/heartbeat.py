"""The scheduler's heartbeat: when it last ticked, so the sync page can say it is running (RQ's dashboard
only knows RQ's own cron schedulers and says "No running cron schedulers" about heapsite's).

Kept minimal on purpose (a Redis key with the last tick's time): issue 17 brings a fuller heartbeat record
and health checks; this is what the sync page reads until then.
"""

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

import django_rq
from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

KEY = "heapsite:scheduler:heartbeat"


@dataclass(frozen=True)
class Heartbeat:
    ticked_at: datetime | None
    reachable: bool = True  # False: Redis could not be asked

    @property
    def alive(self) -> bool:
        """Ticked within a few intervals (or a minute, whichever is longer)."""
        allowed = timedelta(seconds=max(60, 3 * settings.SCHEDULER_TICK_SECONDS))
        return self.ticked_at is not None and timezone.now() - self.ticked_at <= allowed


def scheduler_heartbeat_record(*, now: datetime | None = None) -> None:
    """Called by the scheduler after every tick; a missing Redis only costs the heartbeat."""
    moment = now or timezone.now()
    with contextlib.suppress(RedisError):
        django_rq.get_connection("default").set(KEY, moment.isoformat(), ex=24 * 3600)


def scheduler_heartbeat() -> Heartbeat:
    try:
        value = django_rq.get_connection("default").get(KEY)
    except RedisError:
        return Heartbeat(ticked_at=None, reachable=False)
    return Heartbeat(ticked_at=datetime.fromisoformat(value.decode()) if value else None)
