"""heapsite's WSGI application with `timezone.now()` fixed at BENCH_NOW (an ISO datetime), for bench/web_rss.py.

bench/sync.py's generator wrote histories that end in the past; the pages' windows (the last 7 or
30 days) are put at their end so that the process reads as many events as it would on live data.
Not a benchmark itself (the leading underscore).
"""

import os
from datetime import datetime

from django.utils import timezone

_NOW = datetime.fromisoformat(os.environ["BENCH_NOW"])
timezone.now = lambda: _NOW  # before the app's modules are imported: every caller goes through the module

from heapsite.wsgi import application  # noqa: E402

__all__ = ["application"]
