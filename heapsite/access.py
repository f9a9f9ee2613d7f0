"""The one place views get the environment a request may act on."""

from django.http import Http404, HttpRequest

from warehouse.models import Environment


def access_environment(request: HttpRequest, schema: str) -> Environment:
    """Environment named by the URL's schema segment, or 404. Every env-scoped view calls this."""
    if not request.user.is_authenticated:
        raise Http404("not found")
    try:
        environment = Environment.objects.select_related("project").get(warehouse_schema=schema)
    except Environment.DoesNotExist:
        raise Http404(f"no environment {schema!r}") from None
    if request.session.get("environment") != environment.warehouse_schema:
        # Assigning marks the session modified, which costs a write on every request.
        request.session["environment"] = environment.warehouse_schema
    return environment
