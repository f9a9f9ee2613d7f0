"""Privacy (docs/privacy.md): per-environment redaction, IP and retention settings; user deletion
requests; the warehouse's pending deletions; retention runs; raw_sessions by start time; the
"privacy" sync trigger.

privacy_warehouse_deletion.xact_id is the id of the transaction that deleted the raw rows (xid8,
like the raw tables' own): the sync applies a deletion once its transaction has finished.
"""

import django.contrib.postgres.fields
import django.db.models.deletion
import uuid
import warehouse.models.environments
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("warehouse", "0010_drop_in_ingestion_and_transform_role"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="RetentionRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                        default="running",
                        max_length=12,
                    ),
                ),
                ("retention_days", models.PositiveIntegerField()),
                ("cutoff", models.DateTimeField(help_text="raw events older than this are deleted")),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("events_deleted", models.BigIntegerField(default=0)),
                ("sessions_deleted", models.BigIntegerField(default=0)),
                ("batches", models.PositiveIntegerField(default=0)),
                ("error", models.TextField(blank=True, default="")),
            ],
            options={
                "db_table": "privacy_retention_run",
                "ordering": ["-started_at", "-id"],
            },
        ),
        migrations.CreateModel(
            name="UserDeletionRequest",
            fields=[
                ("id", models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ("source", models.CharField(choices=[("api", "Api"), ("ui", "Ui")], max_length=8)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("done", "Done"), ("failed", "Failed")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("targets", models.JSONField(blank=True, default=list)),
                ("users_requested", models.PositiveIntegerField(default=0)),
                ("users_deleted", models.PositiveIntegerField(default=0)),
                ("events_deleted", models.BigIntegerField(default=0)),
                ("sessions_deleted", models.BigIntegerField(default=0)),
                ("merges_deleted", models.BigIntegerField(default=0)),
                ("warehouse_done_at", models.DateTimeField(blank=True, null=True)),
                ("error", models.TextField(blank=True, default="")),
            ],
            options={
                "db_table": "privacy_user_deletion_request",
                "ordering": ["-created_at"],
            },
        ),
        migrations.CreateModel(
            name="WarehouseDeletion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("kind", models.CharField(choices=[("users", "Users"), ("retention", "Retention")], max_length=16)),
                (
                    "user_ids",
                    django.contrib.postgres.fields.ArrayField(
                        base_field=models.BigIntegerField(), blank=True, default=list, size=None
                    ),
                ),
                ("before", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("applied_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "db_table": "privacy_warehouse_deletion",
            },
        ),
        migrations.AddField(
            model_name="environment",
            name="ip_mode",
            field=models.CharField(
                choices=[("full", "full address"), ("truncated", "truncated (IPv4 /24, IPv6 /48)"), ("none", "none")],
                default="full",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="environment",
            name="redact_email_values",
            field=models.BooleanField(
                default=True, help_text="Also drop query parameters whose value looks like an email address"
            ),
        ),
        migrations.AddField(
            model_name="environment",
            name="redacted_query_params",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=100),
                blank=True,
                default=warehouse.models.environments.default_redacted_query_params,
                size=None,
            ),
        ),
        migrations.AddField(
            model_name="environment",
            name="retention_days",
            field=models.PositiveIntegerField(
                blank=True, help_text="Delete raw events older than this many days (empty: keep everything)", null=True
            ),
        ),
        migrations.AlterField(
            model_name="syncrun",
            name="trigger",
            field=models.CharField(
                choices=[
                    ("schedule", "Schedule"),
                    ("definition change", "Definition"),
                    ("manual", "Manual"),
                    ("privacy", "Privacy"),
                ],
                max_length=24,
            ),
        ),
        migrations.AddIndex(
            model_name="rawsession",
            index=models.Index(fields=["environment", "time"], name="raw_sessions_env_time"),
        ),
        migrations.AddField(
            model_name="retentionrun",
            name="environment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="warehouse.environment"
            ),
        ),
        migrations.AddField(
            model_name="userdeletionrequest",
            name="environment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="warehouse.environment"
            ),
        ),
        migrations.AddField(
            model_name="userdeletionrequest",
            name="requested_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="warehousedeletion",
            name="environment",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="warehouse.environment"
            ),
        ),
        migrations.AddField(
            model_name="warehousedeletion",
            name="request",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="warehouse.userdeletionrequest",
            ),
        ),
        migrations.AddIndex(
            model_name="retentionrun",
            index=models.Index(fields=["environment", "-started_at"], name="privacy_retention_env_started"),
        ),
        migrations.AddIndex(
            model_name="userdeletionrequest",
            index=models.Index(fields=["environment", "-created_at"], name="privacy_deletion_env_created"),
        ),
        migrations.AddIndex(
            model_name="warehousedeletion",
            index=models.Index(
                condition=models.Q(("applied_at__isnull", True)),
                fields=["environment"],
                name="privacy_wh_deletion_pending",
            ),
        ),
        migrations.RunSQL(
            "ALTER TABLE privacy_warehouse_deletion ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id()",
            "ALTER TABLE privacy_warehouse_deletion DROP COLUMN xact_id",
        ),
    ]
