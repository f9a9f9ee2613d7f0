"""Event definitions: named, versioned match rules over raw events, one warehouse table each."""

from django.conf import settings
from django.db import models

from warehouse.models import Environment


class Definition(models.Model):
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="definitions")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="")
    # The match groups (a list) in the format of definitions/compiler/definition.py, checked by the compiler.
    groups = models.JSONField(default=list)
    # Derived from the name (docs/architecture.md §4) when created or renamed; edits keep it.
    table_name = models.CharField(max_length=63)
    # "Sync to warehouse": off drops the table at the next sync (the definition stays), on rebuilds it.
    sync_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["environment", "name"], name="definition_unique_name"),
            models.UniqueConstraint(fields=["environment", "table_name"], name="definition_unique_table"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def event_table_key(self) -> str:
        return f"definition:{self.pk}"

    @property
    def kind(self) -> str:
        kinds = {group.get("kind", "") for group in self.groups if isinstance(group, dict)}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @property
    def param_prefix(self) -> str:
        return f"d{self.pk}_"


class DefinitionVersion(models.Model):
    """A snapshot taken at every save; restoring one saves it again as a new version."""

    definition = models.ForeignKey(Definition, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    category = models.CharField(max_length=100, blank=True, default="")
    groups = models.JSONField(default=list)
    table_name = models.CharField(max_length=63)
    summary = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["definition", "number"], name="definition_version_number")]

    def __str__(self) -> str:
        return f"{self.definition_id} v{self.number}"


class LabelerToken(models.Model):
    """A labeler token (docs/labeler.md): a one-time launch token put in the site's URL fragment, or the
    short-lived access token it is exchanged for. Only a hash is stored; both belong to one environment,
    one user and one site origin."""

    class Kind(models.TextChoices):
        LAUNCH = "launch"
        ACCESS = "access"

    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    origin = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    # A launch token when exchanged, an access token when closed: either way it no longer works.
    ended_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.kind} token of {self.user_id} for {self.origin}"
