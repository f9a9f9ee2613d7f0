#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")
    from heapsite.embedded import ensure_services

    # Services must be known before Django reads settings (DATABASE_URL / REDIS_URL).
    ensure_services()
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
