"""What the server adds to a session: browser, platform and device type from the user agent, the
client's IP address, and (with a GeoIP database configured) its country, region and city."""

import ipaddress
import logging
from dataclasses import dataclass
from functools import lru_cache

import ua_parser
from django.conf import settings
from django.http import HttpRequest

logger = logging.getLogger(__name__)

TABLET_DEVICES = ("ipad", "tablet", "kindle", "nexus 7", "nexus 9", "nexus 10")
MOBILE_PLATFORMS = ("ios", "android", "windows phone", "blackberry os", "kaios", "firefox os")


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    browser: str = ""
    platform: str = ""
    device_type: str = ""
    country: str = ""
    region: str = ""
    city: str = ""


@lru_cache(maxsize=4096)
def parse_user_agent(user_agent: str) -> tuple[str, str, str]:
    """(browser, platform, device_type) as Heap names them: "Chrome", "Mac OS X", "Desktop"."""
    if not user_agent:
        return "", "", ""
    result = ua_parser.parse(user_agent)
    browser = result.user_agent.family if result.user_agent else ""
    platform = result.os.family if result.os else ""
    device = (result.device.family if result.device else "").lower()
    lowered = user_agent.lower()
    if device == "spider":
        device_type = "Bot"
    elif any(name in device for name in TABLET_DEVICES) or ("android" in lowered and "mobile" not in lowered):
        device_type = "Tablet"
    elif platform.lower() in MOBILE_PLATFORMS or "mobi" in lowered:
        device_type = "Mobile"
    else:
        device_type = "Desktop"
    return browser[:128], platform[:128], device_type


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _trusted_networks(tuple(settings.TRUSTED_PROXIES)))


@lru_cache(maxsize=8)
def _trusted_networks(entries: tuple[str, ...]) -> list:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the nearest X-Forwarded-For hop that is not one of the TRUSTED_PROXIES."""
    address = request.META.get("REMOTE_ADDR", "")
    if settings.TRUSTED_PROXIES and _is_trusted_proxy(address):
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            address = hop
            if not _is_trusted_proxy(hop):
                break
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


@lru_cache(maxsize=2)
def _geoip_reader(path: str):
    import maxminddb  # only needed when a database is configured

    return maxminddb.open_database(path)


def _english_name(record: dict | None) -> str:
    return ((record or {}).get("names") or {}).get("en", "")[:128]


def geoip_lookup(ip: str | None) -> tuple[str, str, str]:
    """(country, region, city) from the GEOIP_DATABASE (a MaxMind .mmdb file); empty without one."""
    path = settings.GEOIP_DATABASE
    if not path or not ip:
        return "", "", ""
    try:
        record = _geoip_reader(path).get(ip) or {}
    except (OSError, ValueError) as error:
        logger.warning("GeoIP lookup of %s in %s failed: %s", ip, path, error)
        return "", "", ""
    subdivisions = record.get("subdivisions") or [{}]
    return _english_name(record.get("country")), _english_name(subdivisions[0]), _english_name(record.get("city"))


def client_info(request: HttpRequest) -> ClientInfo:
    ip = client_ip(request)
    browser, platform, device_type = parse_user_agent(request.META.get("HTTP_USER_AGENT", "")[:1024])
    country, region, city = geoip_lookup(ip)
    return ClientInfo(
        ip=ip,
        browser=browser,
        platform=platform,
        device_type=device_type,
        country=country,
        region=region,
        city=city,
    )
