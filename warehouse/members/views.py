"""The members page (/e/<schema>/members/): who may see and do what in the environment. Admins only."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from warehouse.access import Permission, access_environment, project_is_administered_by
from warehouse.models import Environment, Membership, Role

from . import selectors, services


@require_GET
def members_page(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.ADMIN)
    context = {
        "environment": environment,
        "members": selectors.environment_members(environment=environment),
        "roles": Role.choices,
        "may_manage_project": project_is_administered_by(user=request.user, project=environment.project),
    }
    return render(request, "warehouse/members.html", context)


@require_POST
def members_add(request: HttpRequest, schema: str) -> HttpResponse:
    environment = access_environment(request, schema, Permission.ADMIN)
    try:
        membership = services.membership_add(
            environment=environment,
            username=request.POST.get("username", ""),
            role=request.POST.get("role", ""),
            can_run_sql=request.POST.get("can_run_sql") == "on",
            project_wide=request.POST.get("project_wide") == "on",
            by=request.user,
        )
    except services.MemberError as error:
        messages.error(request, f"Not added: {error}")
    else:
        messages.success(request, f"Added {membership.user.get_username()} as {membership.get_role_display()}.")
    return redirect("members", schema=schema)


def _membership(environment: Environment, membership_id: int) -> Membership:
    membership = selectors.environment_membership(environment=environment, membership_id=membership_id)
    if membership is None:
        raise Http404("no such member of this environment")
    return membership


@require_POST
def members_update(request: HttpRequest, schema: str, membership_id: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.ADMIN)
    membership = _membership(environment, membership_id)
    try:
        services.membership_update(
            membership=membership,
            role=request.POST.get("role", ""),
            can_run_sql=request.POST.get("can_run_sql") == "on",
            by=request.user,
        )
    except services.MemberError as error:
        messages.error(request, f"Not changed: {error}")
    else:
        messages.success(request, f"{membership.user.get_username()} is now {membership.get_role_display()}.")
    return redirect("members", schema=schema)


@require_POST
def members_remove(request: HttpRequest, schema: str, membership_id: int) -> HttpResponse:
    environment = access_environment(request, schema, Permission.ADMIN)
    membership = _membership(environment, membership_id)
    try:
        services.membership_remove(membership=membership, by=request.user)
    except services.MemberError as error:
        messages.error(request, f"Not removed: {error}")
    else:
        messages.success(request, f"Removed {membership.user.get_username()}.")
    return redirect("members", schema=schema)
