"""Embedded PostgreSQL and Redis for machines that have only Python.

Placeholder: the foundation work replaces this with the real bootstrap.
"""

import os


def ensure_services() -> None:
    missing = [name for name in ("DATABASE_URL", "REDIS_URL") if not os.environ.get(name)]
    if missing:
        raise RuntimeError(f"embedded services not implemented yet; set {', '.join(missing)}")
