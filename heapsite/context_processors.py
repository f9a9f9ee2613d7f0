from django.http import HttpRequest

from warehouse.access import environments_visible


def environments(request: HttpRequest) -> dict:
    """Environment switcher: the environments the user may see, the one they last looked at, and what they may
    do in the one the page is about (``environment_access``, set by access_environment)."""
    access = getattr(request, "environment_access", None)
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"environment_access": access}
    visible = list(environments_visible(user=request.user))
    match = getattr(request, "resolver_match", None)
    current_schema = (match.kwargs.get("schema") if match else None) or request.session.get("environment")
    current = next((e for e in visible if e.warehouse_schema == current_schema), None)
    if current is None and visible:
        # The first one created: on a fresh install that is main/production, where the demo data is.
        current = min(visible, key=lambda e: e.pk)
    return {"environments": visible, "current_environment": current, "environment_access": access}
