"""Privacy pages: deleting a user from their page, an environment's privacy settings.

Both are admin actions in the environment; the settings are shown on the environment's page
(templates/privacy/_environment.html).
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from warehouse.access import Permission, access_environment
from warehouse.models import DeletionSource
from warehouse.params import BIGINT_LIMIT, whole_number

from .services import environment_privacy_update, parse_redacted_params, user_deletion_request


@require_POST
def user_delete(request, schema: str, user_id: int):
    environment = access_environment(request, schema, Permission.ADMIN)
    if user_id >= BIGINT_LIMIT:  # no user has it: user ids are bigints
        raise Http404("no such user")
    deletion = user_deletion_request(
        environment=environment, users=[{"user_id": user_id}], source=DeletionSource.UI, requested_by=request.user
    )
    messages.info(
        request,
        f"Deletion request {deletion.pk} queued: user {user_id}, with every id merged into them, leaves the raw "
        "data in a moment and the warehouse at the next sync.",
    )
    return redirect(reverse("environment_home", args=[schema]) + "#privacy")


@require_POST
def privacy_settings(request, schema: str):
    environment = access_environment(request, schema, Permission.ADMIN)
    retention = request.POST.get("retention_days", "").strip()
    try:
        days = whole_number(retention) if retention else None
        if retention and days is None:
            raise ValueError("retention must be a whole number of days, or empty to keep everything")
        environment_privacy_update(
            environment=environment,
            redacted_query_params=parse_redacted_params(request.POST.get("redacted_query_params", "")),
            redact_email_values=request.POST.get("redact_email_values") == "on",
            ip_mode=request.POST.get("ip_mode", ""),
            retention_days=days,
        )
    except ValueError as error:
        messages.error(request, f"Privacy settings not saved: {error}")
    else:
        messages.info(request, "Privacy settings saved; ingestion applies them within a few seconds.")
    return redirect(reverse("environment_home", args=[schema]) + "#privacy")
