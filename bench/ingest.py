"""Ingestion throughput: events/s through POST /api/collect next to a plain COPY of the same rows.

    python bench/ingest.py [--events 50000] [--batch 50] [--clients 4] [--workers 3] [--port 8110]

Starts gunicorn on 127.0.0.1:<port> with the project's settings, sends pre-built heap.js batches
from several client processes over loopback, then COPYs the rows the API stored into raw_events
again (for a second environment) and prints both rates, the ratio and the targets. Uses
DATABASE_URL / REDIS_URL like the app; everything it creates is deleted at the end.
"""

import argparse
import http.client
import io
import json
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

TARGET_EVENTS_PER_SECOND = 5000
TARGET_RATIO = 0.10
USER_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PATHS = ["/", "/pricing", "/signup", "/docs/getting-started", "/blog/why-heapsite", "/checkout"]

COPY_COLUMNS = (
    "event_id",
    "user_id",
    "session_id",
    "time",
    "received_at",
    "type",
    "event_name",
    "domain",
    "path",
    "query",
    "hash",
    "title",
    "referrer",
    "target_tag",
    "target_id",
    "target_classes",
    "target_text",
    "target_href",
    "hierarchy",
    "library",
    "properties",
)
_bodies: list[list[bytes]] = []  # per client, filled before the pool forks


def build_batches(app_id: str, events: int, batch_size: int, seed: int = 7) -> list[bytes]:
    """Realistic batches: a pageview then clicks with hierarchies, one user and session per batch."""
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    bodies = []
    for number in range(events // batch_size):
        user_id = rng.randrange(1, 2**53)
        start = now - rng.randrange(60_000, 3_600_000)
        items = []
        for index in range(batch_size):
            at = start + index * 1000
            path = rng.choice(PATHS)
            common = {"id": f"b{number}-{index}", "time": at, "domain": "shop.example", "path": path, "query": ""}
            common.update(hash="", title="Shop", referrer="https://www.google.com/", properties={"ab": "b"})
            if index % 5 == 0:
                items.append({**common, "type": "pageview"})
                continue
            classes = ["btn", "btn-primary", f"px-{index % 4}"]
            hierarchy = [
                {"tag": "button", "id": f"cta-{index % 7}", "classes": classes, "attrs": {"type": "button"}},
                {"tag": "div", "classes": ["card", "md:flex"], "attrs": {"data-plan": "pro"}},
                {"tag": "section", "id": "pricing"},
                {"tag": "main"},
                {"tag": "body"},
                {"tag": "html", "attrs": {"lang": "en"}},
            ]
            target = {"tag": "button", "id": f"cta-{index % 7}", "classes": classes, "text": "Start trial", "href": ""}
            items.append({**common, "type": "click", "target": target, "hierarchy": hierarchy})
        session = {"id": rng.randrange(1, 2**53), "start_time": start, "referrer": "https://www.google.com/"}
        session.update(landing_page="https://shop.example/", utm_source="newsletter", utm_campaign="spring")
        body = {"app_id": app_id, "library": "web", "sent_at": now, "user_id": user_id, "identity": None}
        body.update(session=session, events=items)
        bodies.append(json.dumps(body).encode())
    return bodies


def send_all(client_index: int, port: int) -> tuple[int, int]:
    """Send this client's batches one after another; returns (events stored, failed requests)."""
    stored = failures = 0
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": USER_AGENT}
    for body in _bodies[client_index]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/api/collect", body=body, headers=headers)
        response = connection.getresponse()
        reply = response.read()
        connection.close()
        if response.status == 200:
            stored += json.loads(reply)["inserted"]
        else:
            failures += 1
            if failures <= 3:
                print(f"client {client_index}: HTTP {response.status} {reply[:300]!r}", file=sys.stderr)
    return stored, failures


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "heapsite.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "DEBUG": "0"}, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("OPTIONS", "/api/collect")
            if connection.getresponse().status == 204:
                return server
        except OSError:
            time.sleep(0.2)
    stop(server)
    raise SystemExit(f"gunicorn did not answer on port {port}")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def copy_baseline(source_environment_id: int, target_environment_id: int) -> tuple[int, float]:
    """COPY the rows the API stored into raw_events again (as another environment); (rows, seconds)."""
    from django.db import connection, transaction
    from psycopg2 import sql

    columns = sql.SQL(", ").join(map(sql.Identifier, COPY_COLUMNS))
    export = sql.SQL("COPY (SELECT {target}, {columns} FROM raw_events WHERE environment_id = {source}) TO STDOUT")
    load = sql.SQL("COPY raw_events (environment_id, {columns}) FROM STDIN")
    buffer = io.StringIO()
    with connection.cursor() as cursor:
        query = export.format(
            target=sql.Literal(target_environment_id), columns=columns, source=sql.Literal(source_environment_id)
        )
        cursor.copy_expert(query.as_string(cursor.connection), buffer)
    rows = buffer.getvalue().count("\n")
    buffer.seek(0)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.copy_expert(load.format(columns=columns).as_string(cursor.connection), buffer)
    return rows, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--port", type=int, default=8110)
    args = parser.parse_args()

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.core.management import call_command

    from warehouse.models import Environment, Project, RawEvent, RawSession, RawUser

    call_command("migrate", verbosity=0)
    suffix = str(int(time.time()))
    project, _ = Project.objects.get_or_create(name="bench")
    environments = []
    for name in ("api", "copy"):
        environment = Environment(project=project, name=f"{name}{suffix}", warehouse_schema=f"bench_{name}{suffix}")
        environment.set_api_key("bench-key")
        environment.save()
        environments.append(environment)
    api_environment, copy_environment = environments

    server = None
    try:
        bodies = build_batches(api_environment.app_id, args.events, args.batch)
        _bodies.extend(bodies[index :: args.clients] for index in range(args.clients))
        server = start_gunicorn(args.port, args.workers)
        context = multiprocessing.get_context("fork")
        with context.Pool(args.clients) as pool:
            started = time.perf_counter()
            results = pool.starmap(send_all, [(index, args.port) for index in range(args.clients)])
            api_seconds = time.perf_counter() - started
        stop(server)
        stored = sum(result[0] for result in results)
        failures = sum(result[1] for result in results)
        in_table = RawEvent.objects.filter(environment=api_environment).count()
        if failures or stored != in_table or in_table != len(bodies) * args.batch:
            raise SystemExit(f"{failures} failed requests; {stored} reported stored, {in_table} in raw_events")

        copied, copy_seconds = copy_baseline(api_environment.pk, copy_environment.pk)
        api_rate = stored / api_seconds
        copy_rate = copied / copy_seconds
        ratio = api_rate / copy_rate
        print(f"events: {stored} in batches of {args.batch}, {args.clients} clients, gunicorn x{args.workers}")
        print(f"POST /api/collect : {api_rate:10,.0f} events/s  ({api_seconds:.2f} s)")
        print(f"COPY baseline     : {copy_rate:10,.0f} rows/s    ({copy_seconds:.2f} s)")
        print(f"ratio             : {ratio:10.1%}  (target >= {TARGET_RATIO:.0%})")
        print(f"throughput target : {TARGET_EVENTS_PER_SECOND:,} events/s -> ", end="")
        print("met" if api_rate >= TARGET_EVENTS_PER_SECOND else "MISSED")
    finally:
        if server is not None:
            stop(server)
        for environment in environments:
            for model in (RawEvent, RawSession, RawUser):
                model.objects.filter(environment=environment).delete()
            environment.delete()


if __name__ == "__main__":
    main()
