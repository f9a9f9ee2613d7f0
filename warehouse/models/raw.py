"""The raw capture store: append-only events plus the users, sessions and identity merges they hang off.

These tables live in the app database and are never visible to the SQL page; the sync builds the
warehouse schemas from them. Column meanings are documented in docs/api.md.
"""

from django.contrib.postgres.fields import ArrayField
from django.db import models

from .environments import Environment

# The raw tables' link to their environment. Citus distributes them by user_id, and a distributed
# table cannot reference a plain one: the key is checked by the code that writes (an environment
# looked up by its app id) and deleted rows follow their environment through Django's CASCADE
# (heapsite/services.py environment_delete), on plain PostgreSQL as on Citus.
_RAW_ENVIRONMENT = {"on_delete": models.CASCADE, "related_name": "+", "db_index": False, "db_constraint": False}


def raw_batch() -> models.Func:
    """The current transaction's raw-store batch number (heapsite_raw_batch(), migration
    raw_store_batches_and_citus).

    Every raw row's `batch` is the batch of the transaction that last wrote it: the sync's
    watermark (warehouse/sync/watermark.py). Inserts get it by default; an update that changes what
    the warehouse shows sets it too: `RawUser.objects.filter(...).update(..., batch=raw_batch())`.
    A scalar subquery: Citus evaluates it once, on the coordinator (it refuses volatile functions
    in an UPDATE of a distributed table, which its workers would evaluate).
    """
    return models.Func(template="(SELECT heapsite_raw_batch())", output_field=models.BigIntegerField())


_BATCH = {"db_default": models.Func(function="heapsite_raw_batch", output_field=models.BigIntegerField())}


class EventType(models.TextChoices):
    PAGEVIEW = "pageview"
    CLICK = "click"
    SUBMIT = "submit"
    CHANGE = "change"
    CUSTOM = "custom"


class RawUser(models.Model):
    # No index of its own: every index of the table leads with environment_id (a lone one only
    # costs ingestion writes and lures the planner away from the composite ones). No database
    # constraint either (_RAW_ENVIRONMENT above).
    environment = models.ForeignKey(Environment, **_RAW_ENVIRONMENT)
    batch = models.BigIntegerField(**_BATCH, editable=False)
    user_id = models.BigIntegerField()
    identity = models.CharField(max_length=255, null=True, blank=True)
    joindate = models.DateTimeField()
    last_modified = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        # The database's primary key is (environment_id, user_id) (migration
        # raw_store_batches_and_citus); identities map to one user id each (warehouse/identity.py),
        # so that key also keeps identities unique.
        db_table = "raw_users"
        indexes = [
            models.Index(fields=["environment", "last_modified"], name="raw_users_env_modified"),
            models.Index(
                fields=["environment", "identity"],
                condition=models.Q(identity__isnull=False),
                name="raw_users_env_identity",
            ),
        ]


class RawSession(models.Model):
    # No index of its own: every index of the table leads with environment_id (a lone one only
    # costs ingestion writes and lures the planner away from the composite ones). No database
    # constraint either (_RAW_ENVIRONMENT above).
    environment = models.ForeignKey(Environment, **_RAW_ENVIRONMENT)
    batch = models.BigIntegerField(**_BATCH, editable=False)
    session_id = models.BigIntegerField()
    user_id = models.BigIntegerField()
    time = models.DateTimeField(help_text="Session start")
    last_event_time = models.DateTimeField(help_text="For the 30-minute inactivity rule")
    last_modified = models.DateTimeField()
    library = models.CharField(max_length=32, blank=True, default="")
    platform = models.CharField(max_length=128, blank=True, default="")
    device_type = models.CharField(max_length=32, blank=True, default="")
    browser = models.CharField(max_length=128, blank=True, default="")
    country = models.CharField(max_length=128, blank=True, default="")
    region = models.CharField(max_length=128, blank=True, default="")
    city = models.CharField(max_length=128, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    referrer = models.TextField(blank=True, default="")
    landing_page = models.TextField(blank=True, default="")
    landing_page_query = models.TextField(blank=True, default="")
    landing_page_hash = models.TextField(blank=True, default="")
    search_keyword = models.TextField(blank=True, default="")
    utm_source = models.TextField(blank=True, default="")
    utm_medium = models.TextField(blank=True, default="")
    utm_campaign = models.TextField(blank=True, default="")
    utm_term = models.TextField(blank=True, default="")
    utm_content = models.TextField(blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        # The database's primary key is (environment_id, session_id, user_id) (migration
        # raw_store_batches_and_citus): a session is its user's, and unique keys contain the column
        # Citus distributes by.
        db_table = "raw_sessions"
        indexes = [
            models.Index(fields=["environment", "user_id", "time"], name="raw_sessions_env_user_time"),
            models.Index(fields=["environment", "last_modified"], name="raw_sessions_env_modified"),
            # Retention deletes sessions by start time (never updated, so session updates stay HOT).
            models.Index(fields=["environment", "time"], name="raw_sessions_env_time"),
        ]


class RawEvent(models.Model):
    """One captured interaction or server event. Append-only.

    The table is partitioned by environment, one partition `raw_events_<environment id>` each
    (migration 0009: created and dropped with the environment by a trigger). Its primary key is
    (environment_id, id, user_id): a partitioned table's must contain the partition key, and on
    Citus the distribution column (migration raw_store_batches_and_citus); ids come from one
    sequence and stay unique.
    """

    id = models.BigAutoField(primary_key=True)
    # No index of its own: every index of the table leads with environment_id (a lone one only
    # costs ingestion writes and lures the planner away from the composite ones). No database
    # constraint either (_RAW_ENVIRONMENT above).
    environment = models.ForeignKey(Environment, **_RAW_ENVIRONMENT)
    batch = models.BigIntegerField(**_BATCH, editable=False)
    # Client-chosen (or server-generated) id; retries with the same id are written once.
    event_id = models.CharField(max_length=64)
    user_id = models.BigIntegerField()
    session_id = models.BigIntegerField()
    time = models.DateTimeField()
    received_at = models.DateTimeField()
    type = models.CharField(max_length=16, choices=EventType.choices)
    event_name = models.CharField(max_length=1024, blank=True, default="", help_text="custom events only")
    domain = models.TextField(blank=True, default="")
    path = models.TextField(blank=True, default="")
    query = models.TextField(blank=True, default="")
    hash = models.TextField(blank=True, default="")
    title = models.TextField(blank=True, default="")
    referrer = models.TextField(blank=True, default="")
    target_tag = models.CharField(max_length=64, blank=True, default="")
    target_id = models.TextField(blank=True, default="")
    target_classes = ArrayField(models.TextField(), default=list, blank=True)
    target_text = models.TextField(blank=True, default="")
    target_href = models.TextField(blank=True, default="")
    # Target first, then each ancestor up to <body>; format in docs/api.md "Element hierarchy".
    hierarchy = models.JSONField(default=list, blank=True)
    library = models.CharField(max_length=32, blank=True, default="")
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "raw_events"
        # An event id is written once per user (a retry repeats both); user_id is in the key for Citus.
        constraints = [
            models.UniqueConstraint(fields=["environment", "event_id", "user_id"], name="raw_events_env_event_id")
        ]
        # (environment_id, id, user_id) is the primary key's index.
        indexes = [
            models.Index(fields=["environment", "time"], name="raw_events_env_time"),
            models.Index(fields=["environment", "user_id", "time"], name="raw_events_env_user_time"),
            models.Index(fields=["environment", "session_id"], name="raw_events_env_session"),
            # The raw browser's custom-event-name filter: custom events are a few percent of rows,
            # so this stays small, and a rare name no longer means scanning history.
            models.Index(
                fields=["environment", "event_name", "time"],
                condition=models.Q(type="custom"),
                name="raw_events_env_custom_name",
            ),
        ]


class IdentityMerge(models.Model):
    """An anonymous user who identified: their history shows under to_user_id in the warehouse."""

    # No index of its own: every index of the table leads with environment_id (a lone one only
    # costs ingestion writes and lures the planner away from the composite ones). No database
    # constraint either (_RAW_ENVIRONMENT above).
    environment = models.ForeignKey(Environment, **_RAW_ENVIRONMENT)
    batch = models.BigIntegerField(**_BATCH, editable=False)
    from_user_id = models.BigIntegerField()
    to_user_id = models.BigIntegerField()
    time = models.DateTimeField()

    class Meta:
        db_table = "raw_identity_merges"
        constraints = [
            models.UniqueConstraint(fields=["environment", "from_user_id"], name="raw_merges_env_from"),
        ]
        indexes = [
            models.Index(fields=["environment", "id"], name="raw_merges_env_id"),
            # Who was merged into a user: the user timeline, the list's user filter, the people list.
            models.Index(fields=["environment", "to_user_id"], name="raw_merges_env_to"),
        ]


def raw_events_partition(environment_id: int) -> str:
    """The name of an environment's partition of raw_events (the one migration 0009's trigger creates)."""
    return f"raw_events_{environment_id}"
