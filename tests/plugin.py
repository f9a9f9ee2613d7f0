"""Loaded before Django: make sure PostgreSQL and Redis exist (embedded when no URLs are given)."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

from heapsite.embedded import ensure_services  # noqa: E402

ensure_services()
