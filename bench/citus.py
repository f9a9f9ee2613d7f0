"""heapsite on a Citus cluster next to one PostgreSQL server: bench/sync.py and bench/ingest.py on both.

    python bench/citus.py --citus postgres://postgres@127.0.0.1:9700/postgres \\
        --plain postgres://postgres@127.0.0.1:5432/postgres [--events 1000000] [--ingest-events 50000]

Both arguments name a server's maintenance database (CITUS_ADMIN_URL / PLAIN_ADMIN_URL work too).
On each server the database `heapsite_bench` is created when missing (on the Citus cluster with
the extension and the workers registered: tests/citus/run.py) and migrated; then bench/sync.py
and bench/ingest.py run against each with the same data and the same arguments, each printing its
own figures next to its own same-run baseline. This prints every figure side by side with the
Citus/one-server ratio, and where a full sync's time goes on each (its statements' time by kind,
from one more full sync run in this process). Without a Citus server it notes that and stops.
On one machine a cluster cannot be faster (the nodes share its cores): the point is the cost.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import Report, add_json_argument

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATABASE = "heapsite_bench"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citus", default=os.environ.get("CITUS_ADMIN_URL"), help="Citus coordinator (admin URL)")
    parser.add_argument("--plain", default=os.environ.get("PLAIN_ADMIN_URL"), help="one PostgreSQL server (admin URL)")
    parser.add_argument("--events", type=int, default=1_000_000, help="raw events of the sync benchmark")
    parser.add_argument("--ingest-events", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per sync figure")
    parser.add_argument("--only", default="sync,ingest", help="comma-separated: sync, ingest, profile")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("citus")
    if not args.citus or not args.plain:
        print("bench/citus.py: no Citus coordinator and PostgreSQL server given (--citus, --plain): nothing to compare")
        report.note("skipped: no Citus coordinator given (CITUS_ADMIN_URL / PLAIN_ADMIN_URL)")
        report.write(args.json)
        return
    servers = {"citus": args.citus, "plain": args.plain}
    urls = {side: prepare(side, admin) for side, admin in servers.items()}
    only = set(args.only.split(","))
    runs = {
        "sync": ["sync.py", "--events", str(args.events), "--repeat", str(args.repeat)],
        "ingest": ["ingest.py", "--events", str(args.ingest_events)],
    }
    for name, command in runs.items():
        if name not in only:
            continue
        results = {side: run(side, urls[side], command) for side in ("plain", "citus")}
        compare(report, name, results)
    if "profile" in only or "sync" in only:
        profiles = {side: profile(urls[side]) for side in ("plain", "citus")}
        print("\nwhere a full sync's time goes (statements' seconds by kind, on the build connections together):")
        kinds = sorted(
            {kind for seconds in profiles.values() for kind in seconds}, key=lambda k: -profiles["citus"].get(k, 0)
        )
        print(f"  {'':42s} {'one server':>11s} {'Citus':>9s}")
        for kind in kinds:
            plain, citus = profiles["plain"].get(kind, 0.0), profiles["citus"].get(kind, 0.0)
            print(f"  {kind:42s} {plain:10.2f}s {citus:8.2f}s")
            report.figure(f"full sync statements: {kind}", citus, "s", baseline=plain, baseline_name="one server")
    report.write(args.json)


def prepare(side: str, admin: str) -> str:
    """The bench database on this server (created when missing), migrated; its URL."""
    import psycopg2

    base = admin.rsplit("/", 1)[0]
    connection = psycopg2.connect(admin)
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE])
        exists = cursor.fetchone() is not None
        if not exists and side == "plain":
            cursor.execute(f'CREATE DATABASE "{DATABASE}"')  # noqa: S608 - a constant name
    connection.close()
    if not exists and side == "citus":
        sys.path.insert(0, str(ROOT))
        from tests.citus.run import prepare_database

        prepare_database(admin, DATABASE)
    url = f"{base}/{DATABASE}"
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=_env(url), check=True)  # noqa: S603
    return url


def _env(url: str) -> dict:
    return {**os.environ, "DATABASE_URL": url, "LOG_LEVEL": "WARNING"}


def run(side: str, url: str, command: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "result.json"
        shown = " ".join(["python", f"bench/{command[0]}", *command[1:]])
        print(f"\n== {shown}   on {'the Citus cluster' if side == 'citus' else 'one server'} ({url})", flush=True)
        started = time.monotonic()
        subprocess.run(
            [sys.executable, str(HERE / command[0]), *command[1:], "--json", str(out)],
            cwd=ROOT,
            env=_env(url),
            check=True,
        )  # noqa: S603
        print(f"== done in {time.monotonic() - started:.0f} s", flush=True)
        return json.loads(out.read_text())


def compare(report: Report, name: str, results: dict) -> None:
    print(f"\n{name}: the Citus cluster next to one server (each figure as its benchmark printed it)")
    plain = {figure["name"]: figure for figure in results["plain"]["figures"]}
    for figure in results["citus"]["figures"]:
        other = plain.get(figure["name"])
        if other is None:  # measured on Citus only
            print(f"  {figure['name'][:70]:70s} {'':>10s} {figure['value']:10.2f} {figure['unit']}")
            report.figure(f"{name} on Citus: {figure['name']}", figure["value"], figure["unit"], extra=figure["extra"])
            continue
        ratio = figure["value"] / other["value"] if other["value"] else float("nan")
        print(
            f"  {figure['name'][:70]:70s} {other['value']:10.2f} {figure['value']:10.2f} {figure['unit']:9s}"
            f" Citus/one server {ratio:6.2f}x"
        )
        report.figure(
            f"{name} on Citus: {figure['name']}",
            figure["value"],
            figure["unit"],
            baseline=other["value"],
            baseline_name="the same on one PostgreSQL 15 server",
            extra={"citus_own_ratio": figure.get("ratio"), "plain_own_ratio": other.get("ratio")},
        )


def profile(url: str) -> dict[str, float]:
    """Seconds of a full sync's statements by kind (one more full sync of bench/sync.py's environment)."""
    code = PROFILE.replace("__ROOT__", str(ROOT))
    output = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=_env(url), check=True, capture_output=True, text=True
    )  # noqa: S603
    return json.loads(output.stdout.strip().splitlines()[-1])


# Run in a process of its own (Django set up for that database): one full sync of bench/sync.py's
# environment with its statements timed by kind. Build statements go through Builder.execute (on
# every build connection), the survey reads and the apply transaction are timed whole.
PROFILE = """
import json, os, sys, time
from collections import defaultdict
sys.path[:0] = ["__ROOT__", "__ROOT__/bench"]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")
import django
django.setup()
import sync as bench
import warehouse.sync.build as build
import warehouse.sync.engine as engine
seconds = defaultdict(float)
KINDS = [  # the first whose needles all occur names a statement
    (("INSERT INTO", '"_parts"'), "the pass over raw events"),
    (("INSERT INTO", '"_inc"'), "the pass over raw events"),
    (("_users",), "users (staging)"), (('."users"',), "users (typed table)"),
    (("_sessions",), "sessions (staging)"), (('."sessions"',), "sessions (typed table)"),
    (("_merge_map",), "merge map, user_migrations"),
    (("CREATE INDEX",), "event tables' indexes"),
    (("ALTER TABLE",), "finished tables moved (detach, drop column, schema, rename)"),
    (("create_distributed_table",), "the pass's table made distributed"),
    (("CREATE",), "the pass's table and partitions"), (("DROP",), "dropping"),
]
def kind(text):
    for needles, name in KINDS:
        if all(needle in text for needle in needles):
            return name
    return "other build statements"
def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name if isinstance(name, str) else name(args)] += time.monotonic() - started
    return wrapper
original = build.Builder.execute
def execute(self, statement, params=None):
    started = time.monotonic()
    try:
        return original(self, statement, params)
    finally:
        seconds[kind(statement.as_string(self.cursor.connection))] += time.monotonic() - started
build.Builder.execute = execute
build.Builder.survey = timed("reading back rows and property types", build.Builder.survey)
engine.atomic_with_lock_retry = timed("the swap (one transaction)", engine.atomic_with_lock_retry)
engine.watermark_bound = timed("the watermark", engine.watermark_bound)
started = time.monotonic()
bench.timed_sync(bench.environment(), full=True)
seconds["(wall clock of the whole sync)"] = time.monotonic() - started
print(json.dumps(seconds))
"""

if __name__ == "__main__":
    main()
