"""Benchmark: `seed_demo` for N events, next to PostgreSQL copying the same rows table-to-table.

    python bench/seed.py [--events 1000000] [--keep]

The baseline (INSERT ... SELECT of the freshly seeded rows into a second environment) is what
writing those rows into raw_events costs with no Python at all: the floor seed_demo cannot beat.
Target: 1,000,000 events in under 60 s on a 2-core machine.
"""

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

import django  # noqa: E402

django.setup()

from _report import Report, add_json_argument  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from psycopg2 import sql  # noqa: E402

from demo.seed.services import demo_seed, environment_for_schema  # noqa: E402
from warehouse.models import Environment, IdentityMerge, RawEvent, RawSession, RawUser  # noqa: E402

SEED_SCHEMA = "bench_seed"
COPY_SCHEMA = "bench_seedcopy"
TARGET_SECONDS = 60.0
NOT_COPIED = ("id", "environment_id", "event_id")
COPIED_COLUMNS = [f.column for f in RawEvent._meta.concrete_fields if f.column not in NOT_COPIED]


def clear(schema: str) -> None:
    environment = Environment.objects.filter(warehouse_schema=schema).first()
    if environment is None:
        return
    for model in (RawEvent, RawSession, RawUser, IdentityMerge):
        model.objects.filter(environment=environment).delete()
    environment.delete()


def copy_rows(source: Environment, target: Environment) -> float:
    statement = sql.SQL(
        "INSERT INTO raw_events (environment_id, event_id, {columns}) "
        "SELECT %(target)s, 'copy-' || event_id, {columns} FROM raw_events "
        "WHERE environment_id = %(source)s ORDER BY id"
    ).format(columns=sql.SQL(", ").join(map(sql.Identifier, COPIED_COLUMNS)))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, {"target": target.id, "source": source.id})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="keep the seeded environment afterwards")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("seed")
    for schema in (SEED_SCHEMA, COPY_SCHEMA):
        clear(schema)
    load = os.getloadavg()[0]
    result = demo_seed(schema=SEED_SCHEMA, events=args.events, seed=1)
    with transaction.atomic():
        target, _, _ = environment_for_schema(COPY_SCHEMA)
    baseline = copy_rows(result.environment, target)
    print(f"load average at start: {load:.1f} (2 cores shared)")
    print(
        f"seed_demo {args.events:,} events ({result.sessions:,} sessions, {result.users:,} users): "
        f"{result.seconds:.1f} s = {args.events / result.seconds:,.0f} events/s"
    )
    loading = result.seconds - result.planning_seconds
    print(f"  of which planning in Python {result.planning_seconds:.1f} s, loading {loading:.1f} s")
    print(
        f"baseline: INSERT ... SELECT of the same rows inside PostgreSQL: {baseline:.1f} s = "
        f"{args.events / baseline:,.0f} events/s"
    )
    print(f"ratio seed/baseline: {result.seconds / baseline:.2f}x")
    scaled_target = TARGET_SECONDS * args.events / 1_000_000
    verdict = "OK" if result.seconds < scaled_target else "MISSED"
    print(f"target: < {scaled_target:.0f} s for {args.events:,} events -> {verdict}")
    report.figure(
        f"seed_demo {args.events:,} events",
        result.seconds,
        "s",
        baseline=baseline,
        baseline_name="INSERT … SELECT of the same rows",
        target=f"< {scaled_target:.0f} s",
        met=result.seconds < scaled_target,
    )
    report.write(args.json)
    clear(COPY_SCHEMA)
    if not args.keep:
        clear(SEED_SCHEMA)


if __name__ == "__main__":
    main()
