"""Adding, changing and removing the members of an environment (or of its whole project)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q

from warehouse.access import project_is_administered_by
from warehouse.models import Environment, Membership, Role


class MemberError(ValueError):
    """A change to the members that cannot be made, with the reason in words."""


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise MemberError(f"{role!r} is not a role (choose {', '.join(Role.values)})")


def _check_may_manage(*, membership_project_wide: bool, environment: Environment, by: AbstractBaseUser) -> None:
    if membership_project_wide and not project_is_administered_by(user=by, project=environment.project):
        raise MemberError(
            f"project-wide memberships of {environment.project.name} are managed by the project's admins and superusers"
        )


def membership_add(
    *,
    environment: Environment,
    username: str,
    role: str,
    can_run_sql: bool,
    project_wide: bool,
    by: AbstractBaseUser,
) -> Membership:
    """Give an existing user (by username or email) a role in the environment, or in every environment of its
    project. A user who already has a membership of that scope keeps it: change it instead."""
    _check_role(role)
    _check_may_manage(membership_project_wide=project_wide, environment=environment, by=by)
    name = username.strip()
    if not name:
        raise MemberError("give the username or email of the person to add")
    users = get_user_model().objects.filter(Q(username=name) | Q(email__iexact=name), is_active=True)
    found = list(users[:2])
    if len(found) != 1:
        reason = "no active user has" if not found else "more than one user has"
        raise MemberError(f"{reason} the username or email {name!r} (a superuser creates logins in Admin → Users)")
    (user,) = found
    scope = {"project": environment.project} if project_wide else {"environment": environment}
    try:
        with transaction.atomic():
            return Membership.objects.create(user=user, role=role, can_run_sql=can_run_sql, granted_by=by, **scope)
    except IntegrityError:
        raise MemberError(f"{user.get_username()} is already a member here: change their role below") from None


def membership_update(*, membership: Membership, role: str, can_run_sql: bool, by: AbstractBaseUser) -> Membership:
    _check_role(role)
    if membership.user_id == by.pk and not by.is_superuser:
        raise MemberError("you cannot change your own membership: ask another admin")
    _check_may_manage(
        membership_project_wide=membership.is_project_wide, environment=_environment_of(membership), by=by
    )
    membership.role = role
    membership.can_run_sql = can_run_sql
    membership.granted_by = by
    membership.save(update_fields=["role", "can_run_sql", "granted_by", "updated_at"])
    return membership


def membership_remove(*, membership: Membership, by: AbstractBaseUser) -> None:
    if membership.user_id == by.pk and not by.is_superuser:
        raise MemberError("you cannot remove yourself: ask another admin")
    _check_may_manage(
        membership_project_wide=membership.is_project_wide, environment=_environment_of(membership), by=by
    )
    membership.delete()


def _environment_of(membership: Membership) -> Environment:
    # Project-wide memberships are managed from any environment of the project; the check needs only the project.
    if membership.environment_id is not None:
        return membership.environment
    return Environment(project=membership.project)
