from django.conf import settings
from django.http import HttpRequest

from warehouse.models import Environment

ENVIRONMENT_COOKIE = "heapsite_demo_env"


def demo_environment_name(request: HttpRequest) -> str:
    """`?env=<schema>` picks the environment (and is remembered in a cookie); else the setting."""
    return request.GET.get("env") or request.COOKIES.get(ENVIRONMENT_COOKIE) or settings.DEMO_ENVIRONMENT


def demo_environment(*, schema: str) -> Environment | None:
    return Environment.objects.filter(warehouse_schema=schema).first()
