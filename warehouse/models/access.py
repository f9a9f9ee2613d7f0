"""Who belongs to an environment, or to every environment of a project, and with which role (docs/architecture.md §9)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from .environments import Environment, Project


class Role(models.TextChoices):
    # Ordered from least to most: warehouse/access.py compares them by ROLE_RANK.
    VIEWER = "viewer", "Viewer"
    EDITOR = "editor", "Editor"
    ADMIN = "admin", "Admin"


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class Membership(models.Model):
    """One user's role in one environment, or in every environment of one project (exactly one of the two)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    environment = models.ForeignKey(
        Environment, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, null=True, blank=True, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.VIEWER)
    can_run_sql = models.BooleanField(
        default=False, help_text="May run SQL on the SQL page (admins always may)", verbose_name="SQL"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["user__username", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(environment__isnull=True, project__isnull=False)
                | Q(environment__isnull=False, project__isnull=True),
                name="membership_one_scope",
            ),
            models.UniqueConstraint(
                fields=["user", "environment"], condition=Q(environment__isnull=False), name="membership_user_env"
            ),
            models.UniqueConstraint(
                fields=["user", "project"], condition=Q(project__isnull=False), name="membership_user_project"
            ),
        ]

    def __str__(self) -> str:
        scope = self.environment or f"project {self.project}"
        return f"{self.user} is {self.role} of {scope}"

    @property
    def is_project_wide(self) -> bool:
        return self.project_id is not None
