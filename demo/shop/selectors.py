from django.conf import settings
from django.http import HttpRequest

from warehouse.access import environments_visible
from warehouse.models import Environment

ENVIRONMENT_COOKIE = "heapsite_demo_env"


def demo_environment_name(request: HttpRequest) -> str:
    """`?env=<schema>` picks the environment (and is remembered in a cookie); else the setting."""
    return request.GET.get("env") or request.COOKIES.get(ENVIRONMENT_COOKIE) or settings.DEMO_ENVIRONMENT


def demo_environment(*, schema: str, user) -> Environment | None:
    """The environment the demo's snippet sends to, if this visitor may point the demo at it: the
    DEMO_ENVIRONMENT, or one the visitor may see (the dashboard's and the labeler's links open the
    demo for an environment, in the signed-in browser). Any other answers as one that does not
    exist: the demo is public, and would otherwise show anyone the app id of every environment whose
    schema name they guess."""
    environment = Environment.objects.filter(warehouse_schema=schema).first()
    if environment is None or schema == settings.DEMO_ENVIRONMENT:
        return environment
    return environment if environments_visible(user=user).filter(pk=environment.pk).exists() else None
