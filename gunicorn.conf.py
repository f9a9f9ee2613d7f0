"""gunicorn settings for heapsite in production: ``gunicorn -c gunicorn.conf.py`` (docs/running.md).

gthread workers: each worker process serves GUNICORN_THREADS requests at once from a thread pool,
so a CSV download that streams for minutes holds one thread, and /api/collect keeps answering from
the others (tests/heapsite/platform/test_serving.py). In a gthread worker ``timeout`` is how long the
worker's own loop may stay silent before the arbiter restarts it, not how long a request may take:
a long download is never cut at 30 s the way a sync worker's would be.
"""

import os

wsgi_app = "heapsite.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
timeout = 60
# On a restart, downloads in flight get this long to finish before their worker is stopped.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "300"))
keepalive = 5
# Request lines and headers: gunicorn's own limits, kept; bodies are bounded by the app (413 above).
accesslog = "-"
