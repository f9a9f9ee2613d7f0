"""Warehouse sync benchmark: full, incremental and one-definition syncs against a CTAS baseline.

    python bench/sync.py [--events 1000000] [--definitions 20] [--repeat 3]

Uses the database in DATABASE_URL (environment `bench2_sync`, created and filled once with
demo-like raw events; re-runs reuse it). Each figure is printed next to the baseline measured in
the same run: `CREATE TABLE ... AS SELECT * FROM raw_events WHERE environment_id = <env>` (on a
Citus coordinator, the same copy into a table distributed like the raw events, which every shard
fills in place: bench/citus.py compares a Citus cluster with one server).
The machine is noisy, so each figure is the median of --repeat measurements, the baseline's
interleaved with the full sync's (baseline, full, baseline, full, ...) so both see the same noise;
the spread is printed too. The 20 definitions are definition groups (as the UI and the API store
them: pageview paths, button texts, CSS selectors, an href regex, custom event names, two-group
definitions) compiled by the definitions compiler, so the sync runs the SQL it runs in production.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

import django  # noqa: E402

django.setup()

from _report import Report, add_json_argument  # noqa: E402
from django.db import connection  # noqa: E402
from psycopg2 import sql  # noqa: E402

from definitions.compiler import compile_definition, definition_event_types, definition_gates  # noqa: E402
from warehouse.citus import citus_active  # noqa: E402
from warehouse.models import BuiltTable, Environment, Project  # noqa: E402
from warehouse.models.raw import raw_events_partition  # noqa: E402
from warehouse.registry import EventTableSpec, register_event_table_provider  # noqa: E402
from warehouse.services import sync_run_foreground  # noqa: E402
from warehouse.sql import sync as q  # noqa: E402

# The project name carries the version of GENERATE_EVENTS: bump it when the data changes, so no
# database keeps benchmarking the old data (v2: custom events carry all eight event names).
PROJECT, ENVIRONMENT = "bench2", "sync"
_state = {"count": 20, "edited": None}


def definition_groups(number: int, *, edited: bool = False) -> list[dict]:
    """The n-th benchmark definition's match groups, as the UI and the definitions API store them.

    A mix of what people define: pageview paths, button texts, CSS classes, a form selector or an
    href regex (two groups), custom event names, and two groups of different kinds. Editing one
    moves its values to the next number, so other events match.
    """
    n = number + 1 if edited else number
    kind = number % 6
    if kind == 0:
        return [{"kind": "pageview", "conditions": [{"type": "path", "value": f"/docs/{n % 10}*"}]}]
    if kind == 1:
        return [{"kind": "click", "conditions": [{"type": "text", "op": "exact", "value": f"Button {n % 25}"}]}]
    if kind == 2:
        return [{"kind": "click", "conditions": [{"type": "selector", "value": f".btn-{n % 10}"}]}]
    if kind == 3:
        return [
            {"kind": "submit", "conditions": [{"type": "selector", "value": "form.signup, form.signup *"}]},
            {"kind": "click", "conditions": [{"type": "href", "op": "regex", "value": f"^/pricing/{n % 7}"}]},
        ]
    if kind == 4:
        return [{"kind": "custom", "event_name": f"Event {n % 8}", "conditions": []}]
    return [
        {"kind": "pageview", "conditions": [{"type": "path", "value": f"/blog/{n % 9}*"}]},
        {"kind": "click", "conditions": [{"type": "text", "op": "exact", "value": f"Button {(n * 3) % 25}"}]},
    ]


def definition(number: int) -> EventTableSpec:
    """The n-th definition compiled by the definitions compiler, as the sync gets it in production."""
    edited = _state["edited"] == number
    groups = definition_groups(number, edited=edited)
    predicate, params = compile_definition(groups, prefix=f"b{number}_")
    return EventTableSpec(
        key=f"bench:{number}",
        table_name=f"bench_def_{number}",
        predicate=predicate,
        params=params,
        version="2" if edited else "1",
        label=f"Bench definition {number}",
        event_types=definition_event_types(groups),
        gates=definition_gates(groups),
    )


def provide(environment_id: int) -> list[EventTableSpec]:
    environment = Environment.objects.filter(warehouse_schema=f"{PROJECT}_{ENVIRONMENT}").first()
    if environment is None or environment.id != environment_id:
        return []
    return [definition(n) for n in range(1, _state["count"] + 1)]


register_event_table_provider(provide)


def environment() -> Environment:
    project, _ = Project.objects.get_or_create(name=PROJECT)
    env = Environment.objects.filter(project=project, name=ENVIRONMENT).first()
    if env is None:
        env = Environment(project=project, name=ENVIRONMENT, warehouse_schema=f"{PROJECT}_{ENVIRONMENT}")
        env.set_api_key("bench-key")
        env.save()
    return env


GENERATE_EVENTS = """
INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type, event_name, domain,
  path, query, hash, title, referrer, target_tag, target_id, target_classes, target_text, target_href, hierarchy,
  library, properties)
SELECT %(env)s, %(prefix)s || g, (g %% 20000) + 1, (g %% 50000) + 1,
  timestamptz '2025-06-01' + g * interval '2 seconds', now(),
  t.type, CASE WHEN t.type = 'custom' THEN 'Event ' || ((g / 12) %% 8) ELSE '' END, 'shop.example',
  (ARRAY['/docs/', '/blog/', '/pricing/', '/app/'])[1 + g %% 4] || (g %% 10) || '/page-' || (g %% 97), '?a=' || (g %% 5),
  '', 'Page ' || (g %% 97), 'https://www.example.org/', CASE WHEN t.type = 'click' THEN 'button' ELSE '' END,
  'el' || (g %% 50), ARRAY['btn', 'btn-' || (g %% 10)], 'Button ' || (g %% 25), '/pricing/' || (g %% 7),
  jsonb_build_array(
    jsonb_build_object('tag', 'button', 'id', 'el' || (g %% 50), 'classes', jsonb_build_array('btn', 'btn-' || (g %% 10)),
      'attrs', jsonb_build_object('type', 'submit')),
    jsonb_build_object('tag', 'form', 'classes', jsonb_build_array(CASE WHEN g %% 3 = 0 THEN 'signup' ELSE 'search' END)),
    jsonb_build_object('tag', 'div', 'classes', jsonb_build_array('container', 'col-' || (g %% 12))),
    jsonb_build_object('tag', 'body'), jsonb_build_object('tag', 'html')),
  'web',
  CASE WHEN t.type = 'custom' THEN jsonb_build_object('plan', (ARRAY['free', 'pro', 'team'])[1 + g %% 3], 'amount', g %% 500,
    'ratio', (g %% 100) / 7.0, 'beta', g %% 2 = 0) ELSE '{}'::jsonb END
FROM generate_series(%(start)s, %(stop)s) g
CROSS JOIN LATERAL (SELECT (ARRAY['pageview', 'pageview', 'pageview', 'pageview', 'click', 'click', 'click', 'click',
  'click', 'submit', 'change', 'custom'])[1 + (g * 7) %% 12] AS type) t
"""  # noqa: E501


def ensure_data(env: Environment, events: int, *, analyze: bool = True) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM raw_events WHERE environment_id = %s", [env.id])
        have = cursor.fetchone()[0]
        if have > events:
            # Earlier runs' incremental rounds added events: back to `events`, newest first, so
            # every run measures the same history (and the generator's g stays the event's number).
            print(f"removing the {have - events:,} events earlier runs added ...", flush=True)
            partition = sql.Identifier(raw_events_partition(env.id))
            cursor.execute(
                sql.SQL("DELETE FROM {} WHERE id > (SELECT id FROM {} ORDER BY id OFFSET %s LIMIT 1)").format(
                    partition, partition
                ),
                [events - 1],
            )
            cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(partition))
            return
        if have == events:
            return
        print(f"generating {events - have:,} raw events (once) ...", flush=True)
        cursor.execute(
            "INSERT INTO raw_users (environment_id, user_id, identity, joindate, last_modified, properties) "
            "SELECT %s, g, NULL, now(), now(), jsonb_build_object('plan', 'free', 'visits', g %% 40) "
            "FROM generate_series(1, 20000) g ON CONFLICT DO NOTHING",
            [env.id],
        )
        cursor.execute(
            "INSERT INTO raw_sessions (environment_id, session_id, user_id, time, last_event_time, last_modified,"
            " library, platform, device_type, browser, country, region, city, referrer, landing_page,"
            " landing_page_query, landing_page_hash, search_keyword, utm_source, utm_medium, utm_campaign, utm_term,"
            " utm_content, properties) SELECT %s, g, (g %% 20000) + 1, timestamptz '2025-06-01' + g * interval '40 s',"
            " now(), now(), 'web', 'Linux', 'Desktop', 'Firefox', 'NL', 'NH', 'Amsterdam', 'https://www.google.com/',"
            " 'https://shop.example/', '', '', '', 'news', 'email', 'spring', '', '', '{}'"
            " FROM generate_series(1, 50000) g ON CONFLICT DO NOTHING",
            [env.id],
        )
        cursor.execute(
            "INSERT INTO raw_identity_merges (environment_id, from_user_id, to_user_id, time) "
            "SELECT %s, g, 4611686018427387904 + g, now() FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING",
            [env.id],
        )
        add_events(env, have + 1, events, analyze=analyze)


def add_events(env: Environment, start: int, stop: int, *, analyze: bool = True) -> None:
    with connection.cursor() as cursor:
        # 20,000 events per transaction: ingestion commits at most 1,000 per request, and the sync
        # cuts an environment's history at writers' transaction ids (warehouse/sync/build.py).
        for chunk in range(start, stop + 1, 20_000):
            cursor.execute(
                GENERATE_EVENTS,
                {"env": env.id, "prefix": "b", "start": chunk, "stop": min(stop, chunk + 19_999)},
            )
        # Only this environment's partition: the others' statistics did not change. (Not when
        # bench/sync_fresh.py measures the sync on raw data nothing analyzed yet.)
        if analyze:
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(raw_events_partition(env.id))))


def checkpoint() -> None:
    """Start a measurement without the previous one's checkpoint debt (where the user may CHECKPOINT).

    Each full sync and each baseline writes about half a GB of WAL per 1M events; with the default
    max_wal_size the checkpoint it triggers lands on whatever runs next, which made single
    baselines swing 1.8-3.2 s. Both sides get the same treatment.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') FROM pg_roles"
            " WHERE rolname = current_user"
        )
        if cursor.fetchone()[0]:
            cursor.execute("CHECKPOINT")
            if citus_active():
                cursor.execute("SELECT run_command_on_workers('CHECKPOINT')")


def baseline(env: Environment) -> float:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_sync_baseline")
        checkpoint()
        started = time.monotonic()
        query = sql.SQL("SELECT * FROM raw_events WHERE environment_id = %(env)s")
        layout = q.DISTRIBUTED if citus_active() else None
        cursor.execute(q.create_table_as("public", "bench_sync_baseline", query, citus_layout=layout), {"env": env.id})
        elapsed = time.monotonic() - started
        cursor.execute("DROP TABLE bench_sync_baseline")
    return elapsed


def timed_sync(env: Environment, *, full: bool) -> tuple[float, int]:
    checkpoint()
    started = time.monotonic()
    run = sync_run_foreground(environment=env, full=full)
    assert run.status == "succeeded", run.error
    return time.monotonic() - started, run.total_rows


def child_full_sync(count: int, environment_name: str) -> None:
    global ENVIRONMENT  # noqa: PLW0603 - the child syncs the environment its parent names
    ENVIRONMENT = environment_name
    _state["count"] = count
    seconds, rows = timed_sync(environment(), full=True)
    print(f"{CHILD_RESULT} {seconds} {rows}")


CHILD_RESULT = "child full sync:"


def full_sync_in_child(count: int) -> tuple[float, int, float]:
    """A full sync of ENVIRONMENT with `count` definitions in a process of its own, as a worker runs
    it: (the sync's seconds, rows, that process's peak RSS in MB)."""
    child = subprocess.Popen(  # noqa: S603 - this script, fixed arguments
        [sys.executable, __file__, "--child-full", str(count), "--child-environment", ENVIRONMENT],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)  # its own rusage, not the maximum over all children
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"the full sync's process failed: {output[-2000:]}")
    seconds, rows = output.rsplit(CHILD_RESULT, 1)[1].split()
    return float(seconds), int(rows), usage.ru_maxrss / 1024


def incremental_after(env: Environment, *, last: int, added: int) -> tuple[float, int]:
    """Events last+1 .. last+added of the generator added, then an incremental sync timed: (seconds, rows)."""
    add_events(env, last + 1, last + added)
    return timed_sync(env, full=False)


def spread(samples: list[float]) -> str:
    return f"median of {len(samples)}: " + ", ".join(f"{sample:.2f}" for sample in sorted(samples)) + " s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--definitions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per figure (the median is reported)")
    parser.add_argument("--child-full", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-environment", default=ENVIRONMENT, help=argparse.SUPPRESS)
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("sync")
    if args.child_full:
        child_full_sync(args.child_full, args.child_environment)
        return
    env = environment()
    ensure_data(env, args.events)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM raw_events WHERE environment_id = %s", [env.id])
        total = cursor.fetchone()[0]
    print(f"raw events: {total:,}; definitions: {args.definitions}; {args.repeat} measurements per figure")
    _state["count"] = args.definitions
    timed_sync(env, full=True)  # warm-up: caches, first build
    # The custom events' names get tables of their own (events logged via the API): counted in every figure.
    api_tables = BuiltTable.objects.filter(environment=env, key__startswith="api:").count()
    print(f"tables of events logged via the API (built by every full sync): {api_tables}")
    bases, fulls = [], []
    for _ in range(args.repeat):
        bases.append(baseline(env))
        seconds, rows = timed_sync(env, full=True)
        fulls.append(seconds)
    base, full = statistics.median(bases), statistics.median(fulls)
    print(f"baseline CREATE TABLE AS SELECT * (raw events):  {base:7.2f} s  ({spread(bases)})")
    print(
        f"full sync ({args.definitions} definitions + {api_tables} API events, {rows:,} rows): {full:7.2f} s"
        f"  = {full / base:5.2f}x baseline"
        f"  (target <= 3x; {spread(fulls)})"
    )
    report.figure(
        f"full sync, {args.definitions} definitions + {api_tables} API-event tables, {total:,} events",
        full,
        "s",
        baseline=base,
        baseline_name="CREATE TABLE AS SELECT * (raw events)",
        target="<= 3x baseline",
        met=full <= 3 * base,
        extra={"baseline_samples": bases, "full_samples": fulls},
    )
    incrementals, last = [], total  # event g of the generator is the environment's g-th event
    for _ in range(args.repeat):
        seconds, rows = incremental_after(env, last=last, added=total // 100)
        last += total // 100
        incrementals.append(seconds)
    incremental = statistics.median(incrementals)
    print(
        f"incremental after +1% ({rows:,} rows):          {incremental:7.2f} s  = {incremental / full:6.1%} of full"
        f"  (target <= 10%; {spread(incrementals)})"
    )
    report.figure(
        f"incremental sync after +1% events ({rows:,} rows)",
        incremental,
        "s",
        baseline=full,
        baseline_name="full sync",
        ratio_unit="%",
        target="<= 10% of full",
        met=incremental <= 0.1 * full,
        extra={"samples": incrementals},
    )
    edits = []
    for time_ in range(args.repeat):  # definition 3 edited, edited back, edited again, ...
        _state["edited"] = 3 if time_ % 2 == 0 else None
        seconds, rows = timed_sync(env, full=False)
        edits.append(seconds)
    edited = statistics.median(edits)
    print(
        f"one definition edited ({rows:,} rows):          {edited:7.2f} s  = {edited / full:6.1%} of full"
        f"  (target <= 20%; {spread(edits)})"
    )
    report.figure(
        "one definition edited",
        edited,
        "s",
        baseline=full,
        baseline_name="full sync",
        ratio_unit="%",
        target="<= 20% of full",
        met=edited <= 0.2 * full,
        extra={"samples": edits},
    )
    _state["edited"] = None
    for count in (5, 20, 50):
        elapsed, _, peak = full_sync_in_child(count)
        print(
            f"full sync with {count:2d} definitions (own process):  {elapsed:7.2f} s  = {elapsed / base:5.2f}x baseline"
            f"  worker peak RSS {peak:.0f} MB"
        )
        report.figure(
            f"full sync, {count} definitions (own process, peak RSS {peak:.0f} MB)",
            elapsed,
            "s",
            baseline=base,
            baseline_name="CREATE TABLE AS SELECT * (raw events)",
            extra={"definitions": count, "peak_rss_mb": peak},
        )
        report.point("full sync seconds by definitions", count, elapsed)
    report.point("baseline seconds", 0, base)
    report.write(args.json)


if __name__ == "__main__":
    main()
