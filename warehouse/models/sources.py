"""Other data an environment's SQL role may read: attached schemas and uploaded CSV tables."""

from django.conf import settings
from django.db import models

from .environments import Environment


class AttachedSchema(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="attached_schemas")
    schema_name = models.CharField(max_length=63)
    attached_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    attached_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["schema_name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "schema_name"], name="attached_schema_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.schema_name} → {self.environment}"


class SourceAuditAction(models.TextChoices):
    ATTACH = "attach"
    DETACH = "detach"
    ATTACH_REFUSED = "attach_refused"
    CSV_LOAD = "csv_load"
    CSV_DROP = "csv_drop"


class SourceAuditEntry(models.Model):
    """Every change to what an environment's SQL role can read, and every refusal."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=20, choices=SourceAuditAction.choices)
    schema_name = models.CharField(max_length=63)
    table_name = models.CharField(max_length=63, blank=True, default="")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    time = models.DateTimeField(auto_now_add=True)
    detail = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-time", "-id"]


class CsvUploadStatus(models.TextChoices):
    STAGED = "staged"
    LOADED = "loaded"
    FAILED = "failed"
    DISCARDED = "discarded"


class CsvUpload(models.Model):
    """An uploaded CSV: staged privately, then loaded as a table of the environment's uploads schema."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="csv_uploads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    filename = models.CharField(max_length=255)
    status = models.CharField(max_length=12, choices=CsvUploadStatus.choices, default=CsvUploadStatus.STAGED)
    delimiter = models.CharField(max_length=1, default=",")
    # [{"header": "Sign-up date", "name": "sign_up_date", "inferred": "timestamp"}, …] in file order.
    columns = models.JSONField(default=list)
    row_count = models.BigIntegerField(default=0)
    size_bytes = models.BigIntegerField(default=0)
    table_name = models.CharField(max_length=63, blank=True, default="")
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    loaded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.filename

    @property
    def staging_table(self) -> str:
        return f"upload_{self.pk}"
