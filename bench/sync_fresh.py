"""The sync on a freshly loaded database: raw data bulk-loaded and synced at once, before any ANALYZE.

    python bench/sync_fresh.py [--events 1000000]

Issue 17, item 6: in a fresh clone, `make bench` loaded 1M events and ran a full sync; the
incremental sync that followed sat in one statement (staging the changed sessions) for 14.6
minutes, planned on raw_sessions without statistics (0.2 s once autovacuum had analyzed it). So
this benchmark makes a new database on the same server (`<database>_fresh`, dropped afterwards),
migrates it, turns autovacuum off for its raw tables (nothing but the sync may analyze them),
loads --events raw events with bench/sync.py's generator and, at once: a full sync, +1% events,
an incremental sync. Baseline, in the same database and run: the same incremental (+1% events)
after `VACUUM (ANALYZE)` of the raw tables. Targets: the fresh incremental within 3x its baseline,
and no statement over its time budget.
"""

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 3.0
RESULT_PREFIX = "RESULT "


def child(events: int) -> None:
    """In the fresh database (DATABASE_URL): migrate, load, sync at once, then the analyzed baseline."""
    sys.path.insert(0, str(HERE))
    import sync as sync_bench  # noqa: PLC0415 - sets up Django for the database in DATABASE_URL
    from django.core.management import call_command  # noqa: PLC0415
    from psycopg2 import sql  # noqa: PLC0415

    from warehouse.models.raw import raw_events_partition  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    over_budget = []

    class Watch(logging.Handler):
        def emit(self, record):
            if "went over its" in record.getMessage():
                over_budget.append(record.getMessage())

    logging.getLogger("warehouse.sync").addHandler(Watch())
    env = sync_bench.environment()
    raw = [raw_events_partition(env.id), "raw_sessions", "raw_users", "raw_identity_merges"]
    with sync_bench.connection.cursor() as cursor:
        for table in raw:
            cursor.execute(sql.SQL("ALTER TABLE {} SET (autovacuum_enabled = false)").format(sql.Identifier(table)))
    started = time.monotonic()
    sync_bench.ensure_data(env, events, analyze=False)
    print(f"loaded {events:,} raw events in {time.monotonic() - started:.0f} s (no ANALYZE)", flush=True)
    full, _ = sync_bench.timed_sync(env, full=True)
    sync_bench.add_events(env, events + 1, events + events // 100, analyze=False)
    fresh, rows = sync_bench.timed_sync(env, full=False)
    with sync_bench.connection.cursor() as cursor:
        cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.SQL(", ").join(map(sql.Identifier, raw))))
    sync_bench.add_events(env, events + events // 100 + 1, events + 2 * (events // 100))
    analyzed, _ = sync_bench.timed_sync(env, full=False)
    result = {"full": full, "fresh": fresh, "analyzed": analyzed, "rows": rows, "over_budget": over_budget}
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _admin_connection():
    import dj_database_url  # noqa: PLC0415
    import psycopg2  # noqa: PLC0415

    db = dj_database_url.parse(os.environ["DATABASE_URL"])
    connection = psycopg2.connect(
        dbname="postgres", user=db["USER"], password=db["PASSWORD"], host=db["HOST"], port=db["PORT"] or None
    )
    connection.autocommit = True
    return connection, db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    add_json_argument(parser)
    args = parser.parse_args()
    if args.child:
        child(args.events)
        return
    from urllib.parse import quote  # noqa: PLC0415

    from psycopg2 import sql  # noqa: PLC0415

    report = Report("sync_fresh")
    admin, db = _admin_connection()
    name = f"{db['NAME']}_fresh"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    credentials = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    url = f"postgres://{credentials}@{quote(db['HOST'] or '', safe='')}{':' + str(db['PORT']) if db['PORT'] else ''}/{name}"
    try:
        process = subprocess.run(  # noqa: S603
            [sys.executable, __file__, "--child", "--events", str(args.events)],
            env=dict(os.environ, DATABASE_URL=url),
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
    finally:
        with admin.cursor() as cursor:
            cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
    lines = process.stdout.splitlines()
    print("\n".join(line for line in lines if not line.startswith(RESULT_PREFIX)))
    result = json.loads(next(line for line in lines if line.startswith(RESULT_PREFIX))[len(RESULT_PREFIX) :])
    fresh, analyzed = result["fresh"], result["analyzed"]
    print(f"full sync right after loading {args.events:,} events:  {result['full']:7.2f} s")
    print(
        f"incremental right after (+1%, {result['rows']:,} rows):   {fresh:7.2f} s  = {fresh / analyzed:5.2f}x"
        f" the same on analyzed tables ({analyzed:.2f} s; target <= {TARGET_RATIO:g}x)"
    )
    print(f"statements over their time budget: {len(result['over_budget'])}")
    report.figure(
        f"full sync right after a bulk load of {args.events:,} events (no statistics)",
        result["full"],
        "s",
    )
    report.figure(
        f"incremental sync right after the bulk load (+1%, {result['rows']:,} rows)",
        fresh,
        "s",
        baseline=analyzed,
        baseline_name="the same on analyzed raw tables",
        target=f"<= {TARGET_RATIO:g}x, no statement over its budget",
        met=fresh <= TARGET_RATIO * analyzed and not result["over_budget"],
        extra=result,
    )
    report.write(args.json)


if __name__ == "__main__":
    main()
