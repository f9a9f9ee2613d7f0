"""Events logged via the API: every custom event name an environment received (server /api/track,
heap.track() in the snippet), as the sync found them. Each gets a warehouse table of its own
(warehouse/apievents/), within a per-environment cap, unless switched off.
"""

import hashlib

from django.db import models
from django.db.models import F

from .environments import Environment


class ApiEventSync(models.TextChoices):
    AUTO = "auto", "automatic (within the cap)"
    ON = "on", "on (turned on by hand)"
    OFF = "off", "off (switched off)"


# The order automatic tables go in (warehouse/apievents/selectors.py, rule 4): names a server API
# logged first, then the others (not known yet last), each first seen first. An index serves it.
AUTOMATIC_ORDER = (F("from_server").desc(nulls_last=True), F("first_seen_id").asc())

# EventTableSpec.key of an API event's table: the prefix and the ApiEvent's id.
KEY_PREFIX = "api:"


def api_event_name_hash(name: str) -> str:
    # Names are up to 1024 characters (4 KB in UTF-8): too long for a btree index, so the
    # uniqueness is on their hash.
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


class ApiEvent(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=1024)
    name_hash = models.CharField(max_length=64, editable=False)
    # Given when the event first gets a table (or shares one with a definition), then kept.
    table_name = models.CharField(max_length=63, blank=True, default="")
    # The raw id of its first event: automatic tables go to the names seen first.
    first_seen_id = models.BigIntegerField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Seen in an event a server API wrote (its raw id has a server prefix, which /api/collect refuses):
    # automatic tables go to these names first. Once true, stays true. None: not known yet (a name
    # cataloged before the upgrade that brought this; the next sync reads all history and sets it).
    from_server = models.BooleanField(null=True)
    # Raw events of this name, as of the last successful sync.
    event_count = models.BigIntegerField(default=0)
    sync = models.CharField(max_length=8, choices=ApiEventSync.choices, default=ApiEventSync.AUTO)
    sync_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "warehouse_api_event"
        ordering = ["first_seen_id"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name_hash"], name="api_event_env_name"),
            models.UniqueConstraint(
                fields=["environment", "table_name"], condition=~models.Q(table_name=""), name="api_event_env_table"
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "first_seen_id"], name="api_event_env_first_seen"),
            models.Index(F("environment"), *AUTOMATIC_ORDER, name="api_event_env_automatic"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def event_table_key(self) -> str:
        return f"{KEY_PREFIX}{self.pk}"
