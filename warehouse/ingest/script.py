"""heap.js as served: minified at /static/heap.js, and as `/js/heap-<app id>.js`, the file Heap's
classic snippet loads (docs/migrating.md).

A page carrying Heap's snippet works once its script host is changed to this server: the file is
heap.js with a short preamble that names the app id and this server's collect endpoint, which Heap's
snippet (unlike heapsite's) does not pass to `heap.load`. Both serve the minified build of the
readable static/heap.js (warehouse/ingest/minify.py), made by MinifiedStaticFinder.
"""

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.finders import FileSystemFinder
from django.core.files.storage import FileSystemStorage
from django.http import HttpRequest, HttpResponse, HttpResponseNotModified
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET

from .minify import MINIFIED_STATIC, minify_js
from .selectors import environment_for_app_id

# Browsers re-check the script this often, so a new heap.js reaches sites within minutes.
SCRIPT_MAX_AGE_SECONDS = 300
JAVASCRIPT = "application/javascript; charset=utf-8"

# Runs before heap.js, as part of the same file. The endpoint is resolved against this script's own
# URL, so it follows whatever host and scheme the page loaded it from; the absolute URL the server
# built is the fallback where document.currentScript is unavailable.
# Written minified, as heap.js is served.
_PREAMBLE = (
    "/*! heapsite: heap.js for app id {app_id_comment}; events go to {collect_path} on this script's host */\n"
    "(function(h,s){{"
    "h.config=h.config||{{}};"
    "if(!h.appid)h.appid={app_id};"
    "if(!h.config.endpoint){{"
    "try{{h.config.endpoint=new URL({collect_path},s.src).href}}"
    "catch(e){{h.config.endpoint={collect_url}}}"
    "}}"
    "}})(window.heap=window.heap||[],document.currentScript);\n"
)


def minified_static_build(source_path: str, name: str) -> Path:
    """The minified copy of a static file under HEAPSITE_DATA_DIR/minified/, rebuilt when the source changes
    (the copy carries the source's modification time, which is also what browsers revalidate against)."""
    source = Path(source_path)
    target = Path(settings.HEAPSITE_DATA_DIR) / "minified" / name
    stat = source.stat()
    if not target.exists() or target.stat().st_mtime_ns != stat.st_mtime_ns:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        partial.write_text(minify_js(source.read_text(encoding="utf-8")), encoding="utf-8")
        os.utime(partial, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        os.replace(partial, target)  # atomic: a concurrent reader sees the old copy or the new one
    return target


class MinifiedStaticFinder(FileSystemFinder):
    """STATICFILES_DIRS as Django's own finder sees them, except that the files in MINIFIED_STATIC are found
    minified: what `runserver` serves and `collectstatic` collects at /static/heap.js."""

    def find(self, path, find_all=False, **kwargs):
        found = super().find(path, find_all=find_all, **kwargs)
        if path not in MINIFIED_STATIC or not found:
            return found
        if find_all:
            return [str(minified_static_build(source, path)) for source in found]
        return str(minified_static_build(found, path))

    def list(self, ignore_patterns):
        for path, storage in super().list(ignore_patterns):
            if path in MINIFIED_STATIC:
                built = minified_static_build(storage.path(path), path)
                yield path, FileSystemStorage(location=built.parent)
            else:
                yield path, storage


@lru_cache(maxsize=4)
def _read(path: str, mtime_ns: int) -> str:
    return Path(path).read_text(encoding="utf-8")


def heap_js_served() -> str:
    """heap.js as /static/heap.js serves it (minified), re-read only when the file changes."""
    path = finders.find("heap.js")
    return _read(path, Path(path).stat().st_mtime_ns)


def heap_script_body(*, app_id: str, collect_path: str, collect_url: str) -> str:
    preamble = _PREAMBLE.format(
        app_id_comment=app_id.replace("*/", ""),
        app_id=json.dumps(app_id),
        collect_path=json.dumps(collect_path),
        collect_url=json.dumps(collect_url),
    )
    return preamble + heap_js_served()


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
