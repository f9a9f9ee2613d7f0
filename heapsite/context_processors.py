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
    return {
        "environments": visible,
        "current_environment": current,
        "environment_access": access,
        "environment_section": environment_section(request.path, current_schema if match else None),
    }


def environment_section(path: str, schema: str | None) -> str:
    """The section of an environment page (`raw/top/`, `definitions/`), so the switcher lands on the same section
    of the other environment. Ids (a definition, a user) do not carry over, so the path stops before the first."""
    prefix = f"/e/{schema}/" if schema else None
    if not prefix or not path.startswith(prefix):
        return ""
    parts = []
    for part in path[len(prefix) :].split("/"):
        if not part or part.isdigit() or "." in part:
            break
        parts.append(part)
    return "".join(f"{part}/" for part in parts)
