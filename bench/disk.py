"""Disk per million raw events: raw store (tables, indexes) and warehouse, after a seed and a full sync.

    python bench/disk.py [--events 1000000] [--definitions 20]

In a scratch database (dropped afterwards, so nothing else shares the tables measured): seed_demo
loads N events, the first --definitions of Top interactions' "Define" drafts (as people define events:
top click targets, pages, submits, changes, custom events) are saved, and a full sync builds the
warehouse. Sizes come from PostgreSQL (pg_table_size: heap with TOAST and maps; pg_indexes_size),
per million events. docs/scaling.md records them. No target: figures for sizing a disk.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

MB = 1024 * 1024

# (what, SQL giving bytes) per part; %(env)s is the environment id, %(schemas)s its warehouse schemas.
PARTS = [
    ("raw events: table", "SELECT pg_table_size(format('raw_events_%%s', %(env)s::text)::regclass)"),
    ("raw events: indexes", "SELECT pg_indexes_size(format('raw_events_%%s', %(env)s::text)::regclass)"),
    (
        "raw sessions, users, merges: tables",
        "SELECT sum(pg_table_size(t::regclass)) FROM unnest(ARRAY['raw_sessions', 'raw_users', 'raw_identity_merges']) t",
    ),
    (
        "raw sessions, users, merges: indexes",
        "SELECT sum(pg_indexes_size(t::regclass)) FROM unnest(ARRAY['raw_sessions', 'raw_users', 'raw_identity_merges']) t",
    ),
    (
        "warehouse: tables",
        "SELECT coalesce(sum(pg_table_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'm', 'p')",
    ),
    (
        "warehouse: indexes",
        "SELECT coalesce(sum(pg_relation_size(c.oid)), 0) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = ANY(%(schemas)s) AND c.relkind = 'i'",
    ),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--definitions", type=int, default=20)
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("disk")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    settings.DATABASES["default"]["TEST"]["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench_disk"
    config = setup_databases(verbosity=0, interactive=False)
    try:
        from definitions.browse.selectors import default_top_since, top_interactions
        from definitions.selectors import prefill_from_event
        from definitions.services import definition_create
        from demo.seed.services import demo_seed
        from warehouse.services import sync_run_foreground

        started = time.monotonic()
        environment = demo_seed(schema="bench_disk", events=args.events, seed=1).environment
        print(f"seeded {args.events:,} events in {time.monotonic() - started:.0f} s", flush=True)
        top = top_interactions(environment=environment, since=default_top_since("30d"), exact=True, limit=10)
        groups = [group for rank in range(10) for items in top.sections.values() for group in items[rank : rank + 1]]
        names: set[str] = set()
        for group in groups:
            if len(names) == args.definitions:
                break
            draft = prefill_from_event(environment, group.sample_id)
            if draft is None or draft["name"] in names:
                continue
            definition_create(environment=environment, name=draft["name"], groups=draft["groups"])
            names.add(draft["name"])
        started = time.monotonic()
        run = sync_run_foreground(environment=environment, full=True)
        print(
            f"full sync with {len(names)} definitions: {run.status}, {run.total_rows:,} rows in"
            f" {time.monotonic() - started:.0f} s",
            flush=True,
        )
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
            cursor.execute("VACUUM ANALYZE")  # settled sizes: the visibility and free-space maps exist
            cursor.execute(
                "SELECT array_agg(nspname) FROM pg_namespace WHERE nspname = %s OR nspname LIKE %s",
                [environment.warehouse_schema, f"\\_hs\\_%\\_{environment.id}"],
            )
            schemas = cursor.fetchone()[0] or []
            sizes = {}
            for what, query in PARTS:
                cursor.execute(query, {"env": environment.id, "schemas": schemas})
                sizes[what] = int(cursor.fetchone()[0] or 0)
        millions = args.events / 1_000_000
        print(f"warehouse schemas measured: {', '.join(schemas)}")
        print(f"{'part':40} {'MB':>10} {'MB per 1M events':>18}")
        for what, size in sizes.items():
            print(f"{what:40} {size / MB:10.1f} {size / MB / millions:18.1f}")
            report.figure(f"disk: {what}, per million events", size / MB / millions, "MB")
        total = sum(sizes.values())
        print(f"{'total':40} {total / MB:10.1f} {total / MB / millions:18.1f}")
        report.figure(
            f"disk: total per million events ({len(names)} definitions, {run.total_rows:,} warehouse rows)",
            total / MB / millions,
            "MB",
        )
    finally:
        teardown_databases(config, verbosity=0)
    report.write(args.json)


if __name__ == "__main__":
    main()
