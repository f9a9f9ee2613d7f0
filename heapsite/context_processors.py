from django.http import HttpRequest

from warehouse.models import Environment


def environments(request: HttpRequest) -> dict:
    """Environment switcher: every environment, and the one the user last looked at."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    all_environments = list(Environment.objects.select_related("project"))
    match = getattr(request, "resolver_match", None)
    current_schema = (match.kwargs.get("schema") if match else None) or request.session.get("environment")
    current = next((e for e in all_environments if e.warehouse_schema == current_schema), None)
    if current is None and all_environments:
        # The first one created: on a fresh install that is main/production, where the demo data is.
        current = min(all_environments, key=lambda e: e.pk)
    return {"environments": all_environments, "current_environment": current}
