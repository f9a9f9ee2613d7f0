"""heap.js served as `/js/heap-<app id>.js`, the file Heap's classic snippet loads (docs/migrating.md).

A page carrying Heap's snippet works once its script host is changed to this server: the file is
heap.js with a short preamble that names the app id and this server's collect endpoint, which Heap's
snippet (unlike heapsite's) does not pass to `heap.load`.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from .selectors import environment_for_app_id

# Browsers re-check the script this often, so a new heap.js reaches sites within minutes.
SCRIPT_MAX_AGE_SECONDS = 300
JAVASCRIPT = "application/javascript; charset=utf-8"

# Runs before heap.js, as part of the same file. The endpoint is resolved against this script's own
# URL, so it follows whatever host and scheme the page loaded it from; the absolute URL the server
# built is the fallback where document.currentScript is unavailable.
_PREAMBLE = (
    "/* heapsite: heap.js for app id {app_id_comment}; events go to {collect_path} on this script's host */\n"
    "(function (h, s) {{\n"
    "  h.config = h.config || {{}};\n"
    "  if (!h.appid) h.appid = {app_id};\n"
    "  if (!h.config.endpoint) {{\n"
    "    try {{ h.config.endpoint = new URL({collect_path}, s.src).href; }}\n"
    "    catch (error) {{ h.config.endpoint = {collect_url}; }}\n"
    "  }}\n"
    "}})(window.heap = window.heap || [], document.currentScript);\n"
)


@lru_cache(maxsize=4)
def _heap_js(path: str, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")


def heap_js_source() -> str:
    """static/heap.js as it is on disk now (re-read only when the file changes)."""
    path = finders.find("heap.js")
    return _heap_js(path, Path(path).stat().st_mtime_ns)


def heap_script_body(*, app_id: str, collect_path: str, collect_url: str) -> str:
    preamble = _PREAMBLE.format(
        app_id_comment=app_id.replace("*/", ""),
        app_id=json.dumps(app_id),
        collect_path=json.dumps(collect_path),
        collect_url=json.dumps(collect_url),
    )
    return preamble + heap_js_source()


@login_not_required
@require_GET
def heap_script(request: HttpRequest, app_id: str) -> HttpResponse:
    environment = environment_for_app_id(app_id, cached=True) if app_id.isascii() and "\x00" not in app_id else None
    if environment is None:
        return HttpResponse("/* heapsite: no environment has this app id */\n", status=404, content_type=JAVASCRIPT)
    collect_path = reverse("ingest-collect")
    body = heap_script_body(
        app_id=environment.app_id, collect_path=collect_path, collect_url=request.build_absolute_uri(collect_path)
    )
    etag = quote_etag(hashlib.sha256(body.encode()).hexdigest()[:32])
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type=JAVASCRIPT)
    response["ETag"] = etag
    # Scripts are fetched without CORS, but a tool reading it with fetch() should be able to.
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=SCRIPT_MAX_AGE_SECONDS)
    return response
