"""Reads for the members page."""

from django.db.models import Q

from warehouse.models import Environment, Membership


def environment_members(*, environment: Environment) -> list[Membership]:
    """Memberships that reach the environment: its own and its project's, one list ordered by username."""
    return list(
        Membership.objects.filter(Q(environment=environment) | Q(project_id=environment.project_id))
        .select_related("user", "granted_by", "project")
        .order_by("user__username", "project_id")
    )


def environment_membership(*, environment: Environment, membership_id: int) -> Membership | None:
    return (
        Membership.objects.filter(Q(environment=environment) | Q(project_id=environment.project_id), pk=membership_id)
        .select_related("user", "project", "environment__project")
        .first()
    )
