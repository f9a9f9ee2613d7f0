"""Who may see and do what in an environment: the one place every environment-scoped view asks (docs/architecture.md §9).

A user sees an environment when they are a member of it or of its project, or a superuser. Roles
grant permissions (ROLE_PERMISSIONS); the SQL switch of a membership adds SQL. An environment one
cannot see answers 404 exactly like one that does not exist (its name is not confirmed); an action
one may not do in an environment one sees answers 403.

Views call ``access_environment(request, schema, Permission.X)``. Without a permission, reading
requests (GET, HEAD) need VIEW and every other method needs EDIT, so a new view that forgets to say
is closed to viewers. tests/warehouse/test_access_walk.py walks every URL against this.
"""

import enum
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest

from warehouse.models import Environment, Membership, Project, Role
from warehouse.models.access import ROLE_RANK


class Permission(enum.Enum):
    VIEW = "view"  # raw data, users, definitions (read), the warehouse's sync page, data sources (read)
    SQL = "sql"  # the SQL page
    EDIT = "edit"  # definitions, uploads, sync now
    ADMIN = "admin"  # server key, members, sync schedule
    SUPERUSER = "superuser"  # what reaches beyond the environment (attaching any schema of the database)


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.VIEW}),
    Role.EDITOR: frozenset({Permission.VIEW, Permission.EDIT}),
    # An admin could grant themselves SQL anyway, so the role includes it.
    Role.ADMIN: frozenset({Permission.VIEW, Permission.EDIT, Permission.ADMIN, Permission.SQL}),
}
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


@dataclass(frozen=True)
class Access:
    """What one user may do in one environment they can see."""

    environment: Environment
    role: str  # a Role value, or "superuser"
    permissions: frozenset[Permission]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    # For templates, which cannot pass arguments.
    @property
    def can_edit(self) -> bool:
        return self.can(Permission.EDIT)

    @property
    def can_admin(self) -> bool:
        return self.can(Permission.ADMIN)

    @property
    def can_run_sql(self) -> bool:
        return self.can(Permission.SQL)

    @property
    def is_superuser(self) -> bool:
        return self.can(Permission.SUPERUSER)


def _memberships(user: AbstractBaseUser, environment: Environment) -> QuerySet[Membership]:
    return Membership.objects.filter(Q(environment=environment) | Q(project_id=environment.project_id), user=user)


def environment_access(*, user: AbstractBaseUser | AnonymousUser, environment: Environment) -> Access | None:
    """The user's access to the environment, or None when they may not see it."""
    if not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Access(environment=environment, role="superuser", permissions=frozenset(Permission))
    best = None
    sql = False
    for role, can_run_sql in _memberships(user, environment).values_list("role", "can_run_sql"):
        if best is None or ROLE_RANK[role] > ROLE_RANK[best]:
            best = role
        sql = sql or can_run_sql
    if best is None:
        return None
    permissions = ROLE_PERMISSIONS[best] | ({Permission.SQL} if sql else set())
    return Access(environment=environment, role=best, permissions=frozenset(permissions))


def environments_visible(
    *, user: AbstractBaseUser | AnonymousUser, permission: Permission = Permission.VIEW
) -> QuerySet[Environment]:
    """Every environment where the user may do ``permission`` (the dashboard, the switcher, copy targets)."""
    environments = Environment.objects.select_related("project")
    if not user.is_authenticated or not user.is_active:
        return environments.none()
    if user.is_superuser:
        return environments
    roles = [role for role, permissions in ROLE_PERMISSIONS.items() if permission in permissions]
    granting = Q(role__in=roles) | Q(can_run_sql=True) if permission == Permission.SQL else Q(role__in=roles)
    member_of = Membership.objects.filter(granting, user=user)
    return environments.filter(
        Q(pk__in=member_of.values("environment_id")) | Q(project_id__in=member_of.values("project_id"))
    )


def projects_administered(*, user: AbstractBaseUser) -> list[Project]:
    """Projects where the user may create environments: all for superusers, else those they administer whole."""
    if user.is_superuser:
        return list(Project.objects.all())
    return list(Project.objects.filter(memberships__user=user, memberships__role=Role.ADMIN).distinct())


def project_is_administered_by(*, user: AbstractBaseUser, project: Project) -> bool:
    """Project-wide memberships are managed by superusers and the project's own admins."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(user=user, project=project, role=Role.ADMIN).exists()


def access_environment(request: HttpRequest, schema: str, permission: Permission | None = None) -> Environment:
    """The environment named by the URL's schema segment, if the user may do ``permission`` there.

    404 when the user cannot see it (or it does not exist), 403 when they see it but may not do this.
    The access lands on ``request.environment_access`` for templates (which buttons to show).
    """
    environment = Environment.objects.select_related("project").filter(warehouse_schema=schema).first()
    access = environment_access(user=request.user, environment=environment) if environment else None
    if access is None:
        raise Http404("no such environment")
    if permission is None:
        permission = Permission.VIEW if request.method in READ_METHODS else Permission.EDIT
    request.environment_access = access
    if not access.can(permission):
        raise PermissionDenied(_REFUSALS[permission])
    if request.session.get("environment") != environment.warehouse_schema:
        # Assigning marks the session modified, which costs a write on every request.
        request.session["environment"] = environment.warehouse_schema
    return environment


_REFUSALS = {
    Permission.VIEW: "you cannot see this environment",
    Permission.SQL: "running SQL in this environment needs SQL access (ask an admin of the environment)",
    Permission.EDIT: "this needs the editor or admin role in this environment",
    Permission.ADMIN: "this needs the admin role in this environment",
    Permission.SUPERUSER: "only a superuser can do this (it reaches beyond the environment)",
}
