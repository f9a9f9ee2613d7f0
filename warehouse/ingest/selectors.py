"""Reads of the ingestion API."""

import time

from warehouse.models import Environment
from warehouse.models.environments import hash_api_key

# heap.js traffic looks the same app id up for every batch; keeping the answer a few seconds per
# process saves a query per request. Only for the public app id: server-key checks always read
# the database, so a rotated key stops working at once.
APP_ID_CACHE_SECONDS = 5.0
_APP_ID_CACHE_SIZE = 1000
_app_id_cache: dict[str, tuple[float, Environment]] = {}


def environment_for_app_id(app_id: str, *, cached: bool = False) -> Environment | None:
    """The environment with this app id, or None. With `cached`, possibly a few seconds old."""
    if cached:
        hit = _app_id_cache.get(app_id)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    try:
        environment = Environment.objects.get(app_id=app_id)
    except Environment.DoesNotExist:
        return None
    if cached:
        if len(_app_id_cache) >= _APP_ID_CACHE_SIZE:
            _app_id_cache.clear()
        _app_id_cache[app_id] = (time.monotonic() + APP_ID_CACHE_SECONDS, environment)
    return environment


def environment_for_server_key(key: str) -> Environment | None:
    """The environment whose server key this is (never cached: a rotated key stops working at once)."""
    return Environment.objects.filter(api_key_hash=hash_api_key(key)).first()


def environment_cache_forget(app_id: str) -> None:
    """Drop this process's cached answer for an app id (its environment's settings just changed)."""
    _app_id_cache.pop(app_id, None)
