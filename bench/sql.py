"""Benchmark of the SQL page (docs/sql.md). Not a test.

    python bench/sql.py [--events 1000000] [--repeat 50] [--port 8161]

Figures, each next to a baseline measured in the same run:
1. median time of a small query through the page's execution path (Django request: auth, Redis
   limits, parse, own connection as the role, audit, render) vs the same query on an open psycopg2
   connection; target: overhead <= 30 ms;
2. rendering 10,000 rows (grid HTML + template) vs fetching them with psycopg2;
3. CSV export of --events rows from a gunicorn web process, with that process's peak RSS;
   target: streamed, peak < 200 MB; baseline: COPY ... TO STDOUT with psycopg2;
4. the web process's peak RSS while the page answers ``SELECT repeat('x', 1000000000)`` (a 1 GB
   value) and ``SELECT repeat('x', 2000000) FROM generate_series(1, 100)`` (200 MB of rows), and while
   the CSV refuses the 1 GB value; target: < 200 MB (SQLPAGE_MAX_RESULT_BYTES is 20 MB).

The web process is gunicorn with the shipped gunicorn.conf.py (one worker).

Uses DATABASE_URL / REDIS_URL like the app; builds schema ``sqlbench_main`` and drops it afterwards.
"""

import argparse
import contextlib
import io
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

import django  # noqa: E402

django.setup()

import psycopg2  # noqa: E402
from _report import Report, add_json_argument  # noqa: E402
from _web import gunicorn_worker  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from psycopg2 import sql  # noqa: E402

from warehouse.models import Environment, Project  # noqa: E402
from warehouse.roles import sql_role_connect_kwargs, sql_role_drop, sql_role_ensure  # noqa: E402
from warehouse.sqlpage.render import results_table_html  # noqa: E402

SCHEMA = "sqlbench_main"
# No ORDER BY: a sort over the whole table would measure PostgreSQL, not the page (and cursors,
# which the page uses, are never run with parallel workers while a direct query can be).
SMALL_QUERY = "SELECT event_id, user_id, time, path FROM pageviews LIMIT 10"
WIDE_QUERY = "SELECT event_id, user_id, session_id, time, path, title FROM pageviews LIMIT 10000"
REPORT = Report("sql")


def setup(events: int):
    project, _ = Project.objects.get_or_create(name="sqlbench")
    environment, created = Environment.objects.get_or_create(
        project=project, name="main", defaults={"warehouse_schema": SCHEMA, "api_key_hash": "-", "api_key_prefix": "-"}
    )
    ident = sql.Identifier(SCHEMA)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(ident))
        cursor.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        cursor.execute(
            sql.SQL(
                "CREATE TABLE {}.pageviews AS SELECT g::bigint AS event_id, (g %% 5000)::bigint AS user_id,"
                " (g %% 20000)::bigint AS session_id, now() - g * interval '1 second' AS time,"
                " '/products/' || (g %% 997) AS path, 'Product ' || (g %% 997) AS title"
                " FROM generate_series(1, %s) g"
            ).format(ident),
            [events],
        )
        cursor.execute(sql.SQL("ANALYZE {}.pageviews").format(ident))
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(username="sqlbench", defaults={"is_superuser": True, "is_staff": True})
    sql_role = sql_role_ensure(environment)
    return environment, user, sql_role


def teardown(environment):
    sql_role_drop(environment)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SCHEMA)))
    from warehouse.models import SqlQueryRun

    SqlQueryRun.objects.filter(environment=environment).delete()
    environment.delete()
    Project.objects.filter(name="sqlbench").delete()
    get_user_model().objects.filter(username="sqlbench").delete()


def line(label: str, value: float, baseline: float, unit: str, target: str) -> None:
    ratio = value / baseline if baseline else float("inf")
    print(
        f"{label:<44} {value:10.1f} {unit:<3} baseline {baseline:10.1f} {unit:<3} ratio {ratio:6.2f}  target: {target}"
    )


def bench_small_query(environment, user, sql_role, repeat: int) -> None:
    """Interleaved, so machine load hits the page and its baselines alike."""
    from warehouse.sqlpage.services import sql_query_run

    direct_sql = SMALL_QUERY.replace("pageviews", f"{SCHEMA}.pageviews")
    direct = psycopg2.connect(**sql_role_connect_kwargs(sql_role))
    direct.set_session(readonly=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    url = f"/e/{environment.warehouse_schema}/sql/run"
    times: dict[str, list[float]] = {"direct": [], "connect": [], "service": [], "page": [], "page_cpu": []}
    for index in range(repeat):
        started = time.perf_counter()
        with direct.cursor() as cursor:
            cursor.execute(direct_sql)
            cursor.fetchall()
        times["direct"].append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        fresh = psycopg2.connect(**sql_role_connect_kwargs(sql_role))
        with fresh.cursor() as cursor:
            cursor.execute(direct_sql)
            cursor.fetchall()
        fresh.close()
        times["connect"].append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        outcome = sql_query_run(environment=environment, user=user, text=SMALL_QUERY, run_token=f"bench-{index:06d}")
        times["service"].append((time.perf_counter() - started) * 1000)
        assert outcome.result is not None and outcome.result.row_count == 10, outcome.error

        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.post(url, {"sql": SMALL_QUERY}, HTTP_X_REQUESTED_WITH="fetch")
        times["page"].append((time.perf_counter() - started) * 1000)
        times["page_cpu"].append((time.process_time() - started_cpu) * 1000)
        assert b"10 rows" in response.content, response.content[:500]
    direct.close()
    median = {name: statistics.median(values) for name, values in times.items()}
    line("small query: page request median", median["page"], median["direct"], "ms", "overhead <= 30 ms")
    print(f"{'  overhead (page - direct)':<44} {median['page'] - median['direct']:10.1f} ms")
    print(
        f"{'  of which CPU time in the web process':<44} {median['page_cpu']:10.1f} ms  (the rest is waiting: on a busy machine, mostly for a CPU)"
    )
    line("  execution service only (no HTTP/session)", median["service"], median["direct"], "ms", "-")
    line("  direct with a new connection per query", median["connect"], median["direct"], "ms", "-")
    REPORT.figure(
        f"small query through the page (overhead {median['page'] - median['direct']:.1f} ms)",
        median["page"],
        "ms",
        baseline=median["direct"],
        baseline_name="direct psycopg2 query",
        target="overhead <= 30 ms",
        met=median["page"] - median["direct"] <= 30,
        extra={"overhead_ms": median["page"] - median["direct"], "page_cpu_ms": median["page_cpu"]},
    )


def bench_render(environment, user, sql_role) -> None:
    settings.SQLPAGE_MAX_ROWS = 10_000
    direct = psycopg2.connect(**sql_role_connect_kwargs(sql_role))
    started = time.perf_counter()
    with direct.cursor() as cursor:
        cursor.execute(WIDE_QUERY.replace("pageviews", f"{SCHEMA}.pageviews"))
        rows = cursor.fetchall()
    fetch_ms = (time.perf_counter() - started) * 1000
    direct.close()
    from warehouse.sqlpage.execute import Column, QueryResult

    result = QueryResult(columns=[Column(f"c{i}", "text") for i in range(6)], rows=rows, truncated=False, elapsed_ms=0)
    started = time.perf_counter()
    html = results_table_html(result)
    grid_ms = (time.perf_counter() - started) * 1000
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    started = time.perf_counter()
    response = client.post(
        f"/e/{environment.warehouse_schema}/sql/run", {"sql": WIDE_QUERY}, HTTP_X_REQUESTED_WITH="fetch"
    )
    page_ms = (time.perf_counter() - started) * 1000
    assert b"10000 rows" in response.content
    line("10,000 rows: grid HTML only", grid_ms, fetch_ms, "ms", "-")
    line("10,000 rows: whole page request", page_ms, fetch_ms, "ms", "-")
    print(f"{'  response size':<44} {len(response.content) / 1e6:10.1f} MB (grid {len(html) / 1e6:.1f} MB)")
    REPORT.figure("10,000 rows: grid HTML only", grid_ms, "ms", baseline=fetch_ms, baseline_name="psycopg2 fetch")
    REPORT.figure("10,000 rows: whole page request", page_ms, "ms", baseline=fetch_ms, baseline_name="psycopg2 fetch")


def bench_csv(environment, user, sql_role, events: int, port: int) -> None:
    # Baseline: COPY of the same rows to the client, as psql \copy would.
    direct = psycopg2.connect(**sql_role_connect_kwargs(sql_role))
    started = time.perf_counter()
    sink = io.BytesIO()
    with direct.cursor() as cursor:
        cursor.copy_expert(f"COPY (SELECT * FROM {SCHEMA}.pageviews) TO STDOUT WITH CSV HEADER", sink)  # noqa: S608
    copy_ms = (time.perf_counter() - started) * 1000
    direct.close()
    del sink

    with _gunicorn(user, port, {"SQLPAGE_CSV_MAX_ROWS": str(events)}) as (worker, post):
        started = time.perf_counter()
        peak, idle_rss, (size, lines, _) = _peak_rss(worker, lambda: post("csv", "SELECT * FROM pageviews"))
        csv_ms = (time.perf_counter() - started) * 1000
        assert lines == events + 1, (lines, events)
        line(f"CSV export of {events:,} rows (time)", csv_ms, copy_ms, "ms", "streamed")
        print(
            f"{'  web process peak RSS':<44} {peak / 2**20:10.1f} MB  (idle {idle_rss / 2**20:.1f} MB, "
            f"{size / 2**20:.0f} MB sent)  target: < 200 MB"
        )
        REPORT.figure(
            f"CSV export of {events:,} rows",
            csv_ms / 1000,
            "s",
            baseline=copy_ms / 1000,
            baseline_name="COPY … TO STDOUT",
            target="streamed",
        )
        REPORT.figure(
            f"CSV export: web process peak RSS (idle {idle_rss / 2**20:.0f} MB)",
            peak / 2**20,
            "MB",
            target="< 200 MB",
            met=peak < 200 * 2**20,
        )


HUGE_ANSWERS = [
    ("page: SELECT repeat('x', 1000000000)", "run", "SELECT repeat('x', 1000000000) AS huge", b"truncated ("),
    (
        "page: repeat('x', 2000000) x 100 rows",
        "run",
        "SELECT repeat('x', 2000000) FROM generate_series(1, 100)",
        b"rows",
    ),
    ("CSV: SELECT repeat('x', 1000000000)", "csv", "SELECT repeat('x', 1000000000) AS huge", b"does not fit in a CSV"),
]


def bench_huge_answers(user, port: int) -> None:
    """The answers that used to fill a web process (issue 18): now bounded by PostgreSQL before they leave it."""
    with _gunicorn(user, port, {"SQLPAGE_STATEMENT_TIMEOUT_MS": "120000"}) as (worker, post):
        for label, kind, text, expected in HUGE_ANSWERS:
            started = time.perf_counter()
            peak, idle_rss, (size, _, body) = _peak_rss(worker, lambda kind=kind, text=text: post(kind, text))
            seconds = time.perf_counter() - started
            assert expected in body, body[:2000]
            print(
                f"{label:<44} {peak / 2**20:10.1f} MB peak RSS (idle {idle_rss / 2**20:.1f} MB), "
                f"{size / 2**20:.2f} MB answer, {seconds:.1f} s  target: < 200 MB"
            )
            REPORT.figure(
                f"{label}: web process peak RSS (idle {idle_rss / 2**20:.0f} MB)",
                peak / 2**20,
                "MB",
                target="< 200 MB",
                met=peak < 200 * 2**20,
                extra={"answer_bytes": size, "seconds": seconds},
            )


@contextlib.contextmanager
def _gunicorn(user, port: int, extra_env: dict[str, str]):
    """gunicorn with the shipped gunicorn.conf.py and one worker; yields the worker and a function that posts
    a query to the SQL page (kind "run" or "csv") and returns (bytes, lines, first 64 KB)."""
    with gunicorn_worker(user, port, {"SQLPAGE_RATE_LIMIT_PER_MINUTE": "1000", **extra_env}) as (worker, cookies):

        def post(kind: str, text: str) -> tuple[int, int, bytes]:
            request = urllib.request.Request(  # noqa: S310
                f"http://127.0.0.1:{port}/e/{SCHEMA}/sql/{kind}",
                data=urllib.parse.urlencode({"sql": text, "csrfmiddlewaretoken": cookies["csrftoken"]}).encode(),
                headers={
                    "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Host": "localhost",
                    "X-Requested-With": "fetch",
                },
            )
            size = lines = 0
            head = b""
            try:
                response = urllib.request.urlopen(request, timeout=600)  # noqa: S310
            except urllib.error.HTTPError as error:  # the page's own error answers (a refused CSV is a 400)
                response = error
            with response:
                while chunk := response.read(1 << 16):
                    size += len(chunk)
                    lines += chunk.count(b"\n")
                    if len(head) < 1 << 16:
                        head += chunk
            return size, lines, head

        yield worker, post


def _peak_rss(worker, action):
    """Run action() while sampling the worker's RSS every 20 ms: (peak, idle, action's result)."""
    idle_rss = worker.memory_info().rss
    peak = {"rss": idle_rss}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], worker.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = action()
    finally:
        stop.set()
        sampler.join()
    return peak["rss"], idle_rss, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="rows in the bench table (CSV export size)")
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--port", type=int, default=8161, help="gunicorn port for the CSV figure (8160-8169)")
    add_json_argument(parser)
    args = parser.parse_args()
    print(
        f"building {SCHEMA} with {args.events:,} rows ... (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
    )
    environment, user, sql_role = setup(args.events)
    settings.SQLPAGE_RATE_LIMIT_PER_MINUTE = 1_000_000  # the bench is one busy user
    try:
        bench_small_query(environment, user, sql_role, args.repeat)
        bench_render(environment, user, sql_role)
        bench_csv(environment, user, sql_role, args.events, args.port)
        bench_huge_answers(user, args.port)
    finally:
        teardown(environment)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    REPORT.write(args.json)


if __name__ == "__main__":
    main()
