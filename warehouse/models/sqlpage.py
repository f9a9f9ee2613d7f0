"""The SQL page's state: role credentials, the audit log (also each user's history), saved queries."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from .environments import Environment


class SqlRole(models.Model):
    """Credentials of an environment's LOGIN role. Generated here, never taken from a request."""

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="sql_role")
    role_name = models.CharField(max_length=63)
    # Stored in clear because the app must log in with it; the database holds it as a SCRAM hash.
    password = models.CharField(max_length=64, editable=False)
    # The limits the role was last configured with; a change of settings re-applies them.
    settings_fingerprint = models.CharField(max_length=64, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.role_name


class SqlRunKind(models.TextChoices):
    PAGE = "page"
    CSV = "csv"


class SqlQueryRun(models.Model):
    """Audit record of one attempt to run SQL, rejected ones included. Also the user's history."""

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    kind = models.CharField(max_length=8, choices=SqlRunKind.choices, default=SqlRunKind.PAGE)
    sql = models.TextField(help_text="As submitted (NUL bytes replaced, cut at the size cap)")
    sql_sha256 = models.CharField(max_length=64, help_text="Of the exact submitted text")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    row_count = models.BigIntegerField(null=True, blank=True)
    truncated = models.BooleanField(default=False)
    error_class = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    class Meta:
        db_table = "sql_query_runs"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["environment", "user", "-started_at"], name="sql_runs_env_user_started")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def error_headline(self) -> str:
        from warehouse.sqlpage.render import error_headline  # the page's words for it

        return error_headline(self.error_class)

    @property
    def elapsed_ms(self) -> int | None:
        if self.finished_at is None:
            return None
        return int((self.finished_at - self.started_at).total_seconds() * 1000)


class SavedQuery(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    sql = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "sql_saved_queries"
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "environment", name="saved_query_unique_name_per_environment")
        ]

    def __str__(self) -> str:
        return self.name


class TransformRole(models.Model):
    """Credentials of an environment's transform role (dbt and other tools that build derived tables).

    It reads what the SQL role reads and owns the environment's models schema, the only place it can
    write. Created on request (`manage.py transform_role`); the SQL page's role never gets these rights.
    """

    environment = models.OneToOneField(Environment, on_delete=models.CASCADE, related_name="transform_role")
    role_name = models.CharField(max_length=63)
    schema_name = models.CharField(max_length=63)
    # Stored in clear because it is shown to the people who run dbt; the database holds a SCRAM hash.
    password = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.role_name
