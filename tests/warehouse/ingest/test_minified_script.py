"""heap.js reaches browsers minified (comments and whitespace gone, the banner kept) from every place that
serves it: /static/heap.js under runserver, collectstatic's output, and /js/heap-<app id>.js."""

import gzip
import urllib.request
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.management import call_command

from warehouse.ingest.minify import minify_js

SOURCE = Path(__file__).resolve().parents[3] / "static" / "heap.js"
# bench/capture.py's target for what browsers download.
GZIP_BUDGET = 10_240


def test_the_served_script_is_the_minified_source_within_budget():
    source = SOURCE.read_text(encoding="utf-8")
    served = Path(finders.find("heap.js")).read_text(encoding="utf-8")
    assert served == minify_js(source)
    assert served.startswith("/*! heap.js ")  # the version banner stays
    assert "// " not in served.split("*/", 1)[1].replace("http://", "").replace("https://", "")
    assert len(served) < 0.75 * len(source)
    assert len(gzip.compress(served.encode(), compresslevel=9)) < GZIP_BUDGET


def test_runserver_serves_it_minified_and_follows_edits_of_the_source(live_server, tmp_path, settings):
    # A copy of static/ whose heap.js this test may edit; the live server serves static/ through the finders.
    static = tmp_path / "static"
    static.mkdir()
    (static / "heap.js").write_text("/*! v1 */\n// a comment\nwindow.x  =  1;\n", encoding="utf-8")
    settings.STATICFILES_DIRS = [static]
    settings.HEAPSITE_DATA_DIR = tmp_path / "data"

    def fetch() -> str:
        with urllib.request.urlopen(f"{live_server.url}/static/heap.js") as response:  # noqa: S310 - local server
            return response.read().decode()

    assert fetch() == "/*! v1 */window.x=1;\n"
    (static / "heap.js").write_text("/*! v2 */\nwindow.y = 2; /* gone */\n", encoding="utf-8")
    assert fetch() == "/*! v2 */window.y=2;\n"


def test_collectstatic_collects_it_minified(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path / "collected"
    settings.HEAPSITE_DATA_DIR = tmp_path / "data"
    call_command("collectstatic", interactive=False, verbosity=0)
    collected = (tmp_path / "collected" / "heap.js").read_text(encoding="utf-8")
    assert collected == minify_js(SOURCE.read_text(encoding="utf-8"))
    assert (tmp_path / "collected" / "js" / "app.js").exists()  # everything else as it is
