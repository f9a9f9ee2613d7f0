"""Loaded before Django: make sure PostgreSQL and Redis exist (embedded when no URLs are given)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")
# Browser tests compare page domains: serve live_server on one fixed address, not "localhost".
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

from heapsite.embedded import ensure_services  # noqa: E402

ensure_services()
