"""Which sites (origins) the labeler may run on for an environment: its list, and the demo shop.

An origin is `scheme://host[:port]` as browsers send it in the Origin header (lowercase host, the
default port left out). The demo shop is served by heapsite itself, so its origin is any exact host
heapsite answers to (ALLOWED_HOSTS, never a wildcard) on the scheme and port the request came in on.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from warehouse.models import Environment

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ORIGINS = 50


def origin_of(url: str) -> str | None:
    """The origin of an http(s) URL, normalised as browsers write it, or None for anything else."""
    if not isinstance(url, str) or len(url) > 2000 or any(ch.isspace() for ch in url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), (parts.hostname or "")
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None or parts.password is not None:
        return None
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" + (f":{port}" if port is not None and port != DEFAULT_PORTS[scheme] else "")


def clean_origins(text: str) -> tuple[list[str], list[str]]:
    """(origins, problems) from one origin or URL per line (or comma-separated)."""
    origins: list[str] = []
    problems: list[str] = []
    for item in text.replace(",", "\n").splitlines():
        item = item.strip()
        if not item:
            continue
        origin = origin_of(item)
        if origin is None:
            problems.append(f"{item[:100]!r} is not an http(s) address")
        elif origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        problems.append(f"at most {MAX_ORIGINS} sites")
    return origins, problems


def _request_port(request: HttpRequest) -> int:
    try:
        return int(request.get_port())
    except (TypeError, ValueError):
        return DEFAULT_PORTS["https" if request.is_secure() else "http"]


def demo_shop_origins(request: HttpRequest) -> list[str]:
    """The origins the demo shop is served at: heapsite's own exact hosts on this request's scheme and port."""
    scheme = "https" if request.is_secure() else "http"
    port = _request_port(request)
    suffix = "" if port == DEFAULT_PORTS[scheme] else f":{port}"
    hosts = [request.get_host().rsplit(":", 1)[0] if not request.get_host().endswith("]") else request.get_host()]
    hosts += [host for host in settings.ALLOWED_HOSTS if host and not host.startswith(".") and "*" not in host]
    origins = []
    for host in hosts:
        origin = f"{scheme}://{host.lower()}{suffix}"
        if origin not in origins:
            origins.append(origin)
    return origins


def labeler_origin_allowed(*, environment: Environment, origin: str | None, request: HttpRequest) -> bool:
    if not origin:
        return False
    if origin in environment.labeler_origins:
        return True
    return environment.labeler_demo_shop and origin in demo_shop_origins(request)


def labeler_sites(*, environment: Environment, request: HttpRequest) -> list[str]:
    """Start URLs to offer on the launch form: the demo shop first (if allowed), then the environment's sites."""
    sites = []
    if environment.labeler_demo_shop:
        base = settings.HEAPSITE_URL or request.build_absolute_uri("/").rstrip("/")
        sites.append(f"{base}/demo/?env={environment.warehouse_schema}")
    return sites + [f"{origin}/" for origin in environment.labeler_origins]
