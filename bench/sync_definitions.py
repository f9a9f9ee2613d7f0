"""Warehouse sync with hundreds of realistic definitions, against a CTAS baseline: the cost by definition count.

    python bench/sync_definitions.py [--events 1000000] [--counts 20,100,200,500] [--repeat 3]

The data is the demo product's (`seed_demo`, environment `benchdefs_sync`, seeded once per size
and reused); the definitions are drawn from it as people draw them from Top interactions
(bench/_definitions.py): selectors with one to three conditions, page paths and wildcards,
custom names, two-group definitions and combos. For each count: the full sync's median of
--repeat runs, each next to a `CREATE TABLE AS SELECT * FROM raw_events WHERE environment_id =
<env>` measured just before it (same noise for both), and the rows the sync wrote (event tables,
users and sessions) with the event rows per raw event. At the largest count also: an incremental
sync after +1% events (copies of existing events, new batches), and one edited definition, each
as a share of that full sync. With --json (as bench/run_all.py runs it), also the chart
bench/charts/sync_by_definition_count.png.
"""

import argparse
import dataclasses
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

import django  # noqa: E402

django.setup()

from _definitions import GeneratedDefinition, compiled_specs, generate_definitions  # noqa: E402
from _report import Report, add_json_argument  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils.dateparse import parse_datetime  # noqa: E402
from psycopg2 import sql  # noqa: E402

from demo.seed.services import demo_seed  # noqa: E402
from warehouse.models import BuiltTable, Environment  # noqa: E402
from warehouse.models.raw import raw_events_partition  # noqa: E402
from warehouse.registry import register_event_table_provider  # noqa: E402
from warehouse.sync.tables import sync_private_schema  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sync import baseline, checkpoint, timed_sync  # noqa: E402

SCHEMA = "benchdefs_sync"
END = "2026-12-01T00:00:00+00:00"  # the seed's end time: same data on every run
_state: dict = {"definitions": [], "count": 0, "edited": None, "gates": True}


def provide(environment_id: int):
    environment = Environment.objects.filter(warehouse_schema=SCHEMA).first()
    if environment is None or environment.id != environment_id or not _state["definitions"]:
        return []
    chosen: list[GeneratedDefinition] = _state["definitions"][: _state["count"]]
    if _state["edited"] is not None:
        chosen = [
            GeneratedDefinition(d.number, d.name, _edited(d.groups)) if d.number == _state["edited"] else d
            for d in chosen
        ]
    specs = compiled_specs(chosen, key_prefix="benchdef:", table_prefix="bd_")
    if not _state["gates"]:  # every predicate evaluated on every event of its types, as before gates
        specs = [dataclasses.replace(spec, gates={}) for spec in specs]
    return specs


def _edited(groups: list[dict]) -> list[dict]:
    """The definition with its first group narrowed to the signup pages (what an edit typically does)."""
    first = dict(groups[0])
    if first.get("kind") == "combo":
        return groups
    first["conditions"] = [*first.get("conditions", []), {"type": "path", "value": "/demo/signup/*"}]
    return [first, *groups[1:]]


register_event_table_provider(provide)


def ensure_data(events: int) -> Environment:
    environment = Environment.objects.filter(warehouse_schema=SCHEMA).first()
    with connection.cursor() as cursor:
        if environment is not None:
            partition = sql.Identifier(raw_events_partition(environment.id))
            # Earlier runs' incremental rounds: gone, so every run measures the same history.
            cursor.execute(sql.SQL("DELETE FROM {} WHERE event_id LIKE 'inc-%%'").format(partition))
            if cursor.rowcount:
                cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(partition))
            cursor.execute(sql.SQL("SELECT count(*) FROM {}").format(partition))
            if cursor.fetchone()[0] == events:
                return environment
    print(f"seeding {events:,} demo events (once) ...", flush=True)
    result = demo_seed(schema=SCHEMA, events=events, seed=1, end=parse_datetime(END), replace=True)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(raw_events_partition(result.environment.id)))
        )
    return result.environment


def add_events(environment: Environment, share: float, round_: int) -> int:
    """Copies of the newest `share` of the events as new ones (new ids, new batch): an incremental's input."""
    partition = sql.Identifier(raw_events_partition(environment.id))
    columns = [
        "user_id", "session_id", "time", "received_at", "type", "event_name", "domain", "path", "query", "hash",
        "title", "referrer", "target_tag", "target_id", "target_classes", "target_text", "target_href", "hierarchy",
        "library", "properties",
    ]  # fmt: skip
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {} WHERE event_id NOT LIKE 'inc-%%'").format(partition))
        count = int(cursor.fetchone()[0] * share)
        cursor.execute(
            sql.SQL(
                "INSERT INTO raw_events (environment_id, event_id, {names}) SELECT environment_id,"
                " 'inc-' || %(round)s || '-' || id, {names} FROM {partition} WHERE event_id NOT LIKE 'inc-%%'"
                " ORDER BY id DESC LIMIT %(count)s"
            ).format(names=names, partition=partition),
            {"round": round_, "count": count},
        )
        cursor.execute(sql.SQL("ANALYZE {}").format(partition))
    return count


def event_rows(environment: Environment) -> int:
    """Rows in the definitions' tables after the last sync (not users, sessions, pageviews, API events)."""
    return sum(
        BuiltTable.objects.filter(environment=environment, key__startswith="benchdef:").values_list(
            "row_count", flat=True
        )
    )


def rows_write(environment: Environment) -> float:
    """Seconds to write the definitions' stored rows once more: one CREATE TABLE AS SELECT of them all.

    The cost of writing a sync's rows in PostgreSQL's cheapest way, next to which the issue's second
    target is set (500 definitions <= 1.5x (20 definitions + the extra rows' writing)).
    """
    data = sync_private_schema("data", environment.id)
    names = BuiltTable.objects.filter(environment=environment, key__startswith="benchdef:").values_list(
        "table_name", flat=True
    )
    rows = sql.SQL(" UNION ALL ").join(sql.SQL("SELECT * FROM {}").format(sql.Identifier(data, name)) for name in names)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_rows_write")
        checkpoint()
        started = time.monotonic()
        cursor.execute(sql.SQL("CREATE TABLE bench_rows_write WITH (autovacuum_enabled = false) AS ") + rows)
        elapsed = time.monotonic() - started
        cursor.execute("DROP TABLE bench_rows_write")
    return elapsed


def median_spread(samples: list[float]) -> str:
    return f"median of {len(samples)}: " + ", ".join(f"{s:.2f}" for s in sorted(samples)) + " s"


def followups(environment: Environment, report: Report, count: int, full: float, args, gates: bool) -> None:
    """Incremental after +1% events and one edited definition, at `count` definitions, as shares of `full`."""
    how = "" if gates else " WITHOUT gates"
    _state["count"] = count
    timed_sync(environment, full=True)
    incrementals = []
    for round_ in range(args.repeat):
        added = add_events(environment, 0.01, round_)
        seconds, rows = timed_sync(environment, full=False)
        incrementals.append(seconds)
    incremental = statistics.median(incrementals)
    print(
        f"incremental{how} after +1% ({added:,} events, {rows:,} rows): {incremental:6.2f} s ="
        f" {incremental / full:6.1%} of full (target <= 10%; {median_spread(incrementals)})",
        flush=True,
    )
    report.figure(
        f"incremental sync{how} after +1% events, {count} definitions ({rows:,} rows written)",
        incremental,
        "s",
        baseline=full,
        baseline_name="full sync",
        ratio_unit="%",
        target="<= 10% of full" if gates else "",
        met=incremental <= 0.1 * full if gates else None,
        extra={"samples": incrementals, "gates": gates},
    )
    edits = []
    for round_ in range(args.repeat):  # definition 3 edited, edited back, edited again, ...
        _state["edited"] = 3 if round_ % 2 == 0 else None
        seconds, rows = timed_sync(environment, full=False)
        edits.append(seconds)
    _state["edited"] = None
    edited = statistics.median(edits)
    print(
        f"one definition edited{how} ({rows:,} rows written): {edited:6.2f} s = {edited / full:6.1%} of full"
        f" (target <= 20%; {median_spread(edits)})",
        flush=True,
    )
    report.figure(
        f"one definition edited{how}, {count} definitions ({rows:,} rows written)",
        edited,
        "s",
        baseline=full,
        baseline_name="full sync",
        ratio_unit="%",
        target="<= 20% of full" if gates else "",
        met=edited <= 0.2 * full if gates else None,
        extra={"samples": edits, "gates": gates},
    )
    ensure_data(args.events)  # the added events go again


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--counts", default="20,100,200,500", help="definition counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure (the median is reported)")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also measure every figure without gates (each predicate tested on every event of its types)",
    )
    parser.add_argument("--no-followups", action="store_true", help="skip the incremental and edited runs")
    add_json_argument(parser)
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    report = Report("sync_definitions")
    environment = ensure_data(args.events)
    _state["definitions"] = generate_definitions(environment.id, max(counts))
    print(f"load average at start: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)")
    print(f"raw events: {args.events:,}; {args.repeat} measurements per figure")
    variants = [True, False] if args.compare else [True]
    full_at: dict = {}
    write_at: dict = {}
    for count in counts:
        _state["count"] = count
        timed_sync(environment, full=True)  # warm-up, and the first build of this count's tables
        bases: list[float] = []
        fulls: dict[bool, list[float]] = {gates: [] for gates in variants}
        writes: list[float] = []
        for _ in range(args.repeat):
            bases.append(baseline(environment))
            for gates in variants:
                _state["gates"] = gates
                seconds, total_rows = timed_sync(environment, full=True)
                fulls[gates].append(seconds)
            writes.append(rows_write(environment))
        _state["gates"] = True
        base = statistics.median(bases)
        write_at[count] = statistics.median(writes)
        rows = event_rows(environment)
        for gates in variants:
            full = statistics.median(fulls[gates])
            full_at[count, gates] = full
            how = "" if gates else " WITHOUT gates"
            print(
                f"{count:4d} definitions{how}: full sync {full:6.2f} s = {full / base:5.2f}x CTAS {base:.2f} s;"
                f" {rows:,} definition rows ({rows / args.events:.2f} per raw event), {total_rows:,} rows in all"
                f"  (sync {median_spread(fulls[gates])}; CTAS {median_spread(bases)})",
                flush=True,
            )
            report.figure(
                f"full sync{how}, {count} realistic definitions, {args.events:,} events ({rows:,} definition rows,"
                f" {total_rows:,} rows written)",
                full,
                "s",
                baseline=base,
                baseline_name="CREATE TABLE AS SELECT * (raw events)",
                target="<= 3x baseline" if count >= 500 and gates else "",
                met=full <= 3 * base if count >= 500 and gates else None,
                extra={
                    "definitions": count,
                    "gates": gates,
                    "definition_rows": rows,
                    "rows_written": total_rows,
                    "baseline_samples": bases,
                    "full_samples": fulls[gates],
                },
            )
            series = "full sync seconds by definitions" + ("" if gates else " (without gates)")
            report.point(series, count, full)
        report.point("baseline seconds by definitions", count, base)
        report.point("definition rows by definitions", count, rows)
    if len(counts) > 1:  # the issue's second target: the most definitions against the fewest plus the rows' writing
        few, most = min(counts), max(counts)
        bound = full_at[few, True] + write_at[most] - write_at[few]
        print(
            f"{most} definitions: full sync {full_at[most, True]:.2f} s = {full_at[most, True] / bound:.2f}x"
            f" ({few} definitions' full sync {full_at[few, True]:.2f} s + writing the extra rows"
            f" {write_at[most] - write_at[few]:.2f} s: CTAS of the stored rows {write_at[most]:.2f} s vs"
            f" {write_at[few]:.2f} s; target <= 1.5x)",
            flush=True,
        )
        report.figure(
            f"full sync, {most} definitions, against {few} definitions' plus writing the extra rows",
            full_at[most, True],
            "s",
            baseline=bound,
            baseline_name=f"full sync of {few} definitions + CTAS of the extra stored rows",
            target="<= 1.5x baseline",
            met=full_at[most, True] <= 1.5 * bound,
            extra={"rows_write_seconds": write_at},
        )
    if not args.no_followups:
        for gates in variants:
            _state["gates"] = gates
            followups(environment, report, max(counts), full_at[max(counts), gates], args, gates)
        _state["gates"] = True
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    report.write(args.json)
    if args.json:  # the chart, as bench/run_all.py draws it from the JSON
        from run_all import write_charts

        data = json.loads(Path(args.json).read_text())
        data["size"] = args.events
        print("chart:", *write_charts([data]))


if __name__ == "__main__":
    main()
