"""Privacy records: user deletion requests, the warehouse's pending deletions, retention runs.

A deletion of raw rows (a user's, or retention's old events) is recorded in WarehouseDeletion in
the same transaction; the next sync removes the warehouse rows that no longer exist in the raw
store (warehouse/sync/deletions.py). Records keep who, when and how much, never the deleted values.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from .environments import Environment


class DeletionStatus(models.TextChoices):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class DeletionSource(models.TextChoices):
    API = "api"
    UI = "ui"


class UserDeletionRequest(models.Model):
    """One request to delete users of an environment (Heap's User Deletion API shape).

    `targets` holds what was asked ({"identity": …} / {"user_id": …}) only until the request is
    processed; then it is emptied, and only the counts remain.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=8, choices=DeletionSource.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=DeletionStatus.choices, default=DeletionStatus.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    targets = models.JSONField(default=list, blank=True)
    users_requested = models.PositiveIntegerField(default=0)
    # What was removed from the raw store (users: the people's rows and those of their merged ids).
    users_deleted = models.PositiveIntegerField(default=0)
    events_deleted = models.BigIntegerField(default=0)
    sessions_deleted = models.BigIntegerField(default=0)
    merges_deleted = models.BigIntegerField(default=0)
    # When a sync removed the warehouse rows (null: not yet, or nothing was found).
    warehouse_done_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "privacy_user_deletion_request"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["environment", "-created_at"], name="privacy_deletion_env_created")]

    def __str__(self) -> str:
        return f"user deletion {self.pk} ({self.status})"


class WarehouseDeletionKind(models.TextChoices):
    USERS = "users"
    RETENTION = "retention"


class WarehouseDeletion(models.Model):
    """Raw rows deleted since the warehouse was built: the next sync deletes their warehouse rows.

    `batch` (the deleting transaction's raw-store batch, added by migration
    raw_store_batches_and_citus) tells the sync whether the deletion has committed (below its upper
    bound), like the raw tables' own batch.
    """

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=WarehouseDeletionKind.choices)
    # USERS: every deleted user id (the person's and the anonymous ids merged into it); emptied once applied.
    user_ids = ArrayField(models.BigIntegerField(), default=list, blank=True)
    # RETENTION: raw events (and sessions) older than this were deleted.
    before = models.DateTimeField(null=True, blank=True)
    request = models.ForeignKey(UserDeletionRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "privacy_warehouse_deletion"
        indexes = [
            models.Index(
                fields=["environment"], condition=models.Q(applied_at__isnull=True), name="privacy_wh_deletion_pending"
            )
        ]


class RetentionRunStatus(models.TextChoices):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class RetentionRun(models.Model):
    """One run of the daily retention job of an environment."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=12, choices=RetentionRunStatus.choices, default=RetentionRunStatus.RUNNING)
    retention_days = models.PositiveIntegerField()
    cutoff = models.DateTimeField(help_text="raw events older than this are deleted")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    events_deleted = models.BigIntegerField(default=0)
    sessions_deleted = models.BigIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "privacy_retention_run"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["environment", "-started_at"], name="privacy_retention_env_started")]
