"""Ingestion throughput: events/s through POST /api/collect next to a plain COPY of the same rows.

    python bench/ingest.py [--events 50000] [--batch 50] [--clients 6] [--workers 4] [--port 8110]

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
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

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


def build_batches(app_id: str, events: int, batch_size: int, seed: int = 7, prefix: str = "b") -> list[bytes]:
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
            common = {
                "id": f"{prefix}{number}-{index}",
                "time": at,
                "domain": "shop.example",
                "path": path,
                "query": "",
            }
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
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for body in _bodies[client_index]:
        # http.client reconnects by itself when the server closed the connection (sync workers do).
        connection.request("POST", "/api/collect", body=body, headers=headers)
        response = connection.getresponse()
        reply = response.read()
        if response.will_close:
            connection.close()
        if response.status == 200:
            stored += json.loads(reply)["inserted"]
        else:
            failures += 1
            if failures <= 3:
                print(f"client {client_index}: HTTP {response.status} {reply[:300]!r}", file=sys.stderr)
    connection.close()
    return stored, failures


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def workers_cpu_seconds(master: subprocess.Popen) -> float:
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return sum(process_cpu_seconds(int(pid)) for pid in children)


def other_backends_cpu_seconds() -> float:
    """CPU of this database's other client backends: the app server's connections."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        )
        return sum(process_cpu_seconds(pid) for (pid,) in cursor.fetchall())


def cluster_cpu_seconds() -> dict[str, float]:
    """On a Citus cluster running on this machine: CPU used so far by each node's PostgreSQL processes.

    Each node's postmaster with the children it reaped (cutime, cstime) and those still running,
    so backends that came and went in between count too. Empty on plain PostgreSQL.
    """
    import psycopg2
    from django.db import connection

    from warehouse.citus import citus_active

    if not citus_active():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 'coordinator', NULL, NULL UNION ALL SELECT 'worker ' || nodeport, nodename, nodeport"
            " FROM pg_dist_node WHERE groupid <> 0 ORDER BY 1"
        )
        nodes = cursor.fetchall()
    seconds = {}
    params = connection.get_connection_params()
    for name, host, port in nodes:
        conn = psycopg2.connect(**{**params, **({"host": host, "port": port} if host else {})})
        with conn.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
            checkpointer = cursor.fetchone()[0]
        conn.close()
        postmaster = int(Path(f"/proc/{checkpointer}/stat").read_text().rsplit(")", 1)[1].split()[1])
        fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
        own = sum(int(value) for value in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{postmaster}/task/{postmaster}/children").read_text().split()
        seconds[name] = own + sum(process_cpu_seconds(int(pid)) for pid in children)
    return seconds


def start_gunicorn(port: int, workers: int, threads: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "heapsite.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        # Threaded workers keep connections alive, as browsers do for fetch(keepalive) batches.
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
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


def copy_baseline(source_environment_id: int, target_environment_id: int) -> tuple[int, float, float]:
    """COPY the rows the API stored into raw_events again (as another environment).

    Returns (rows, seconds, CPU seconds of this process and its PostgreSQL backend).
    """
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
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    rows = buffer.getvalue().count("\n")
    buffer.seek(0)
    cpu_before = time.process_time() + process_cpu_seconds(backend)
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.copy_expert(load.format(columns=columns).as_string(cursor.connection), buffer)
    seconds = time.perf_counter() - started
    return rows, seconds, time.process_time() + process_cpu_seconds(backend) - cpu_before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--port", type=int, default=8110)
    parser.add_argument("--copy-runs", type=int, default=3, help="COPY baseline runs (the fastest counts)")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("ingest")

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
    for name in ["api"] + [f"copy{run}" for run in range(args.copy_runs)]:
        environment = Environment(project=project, name=f"{name}x{suffix}", warehouse_schema=f"bench_{name}x{suffix}")
        environment.set_api_key("bench-key")
        environment.save()
        environments.append(environment)
    api_environment, copy_environments = environments[0], environments[1:]

    server = None
    warmup = 4 * args.workers * args.threads  # batches
    try:
        bodies = build_batches(api_environment.app_id, args.events, args.batch)
        _bodies.extend(bodies[index :: args.clients] for index in range(args.clients))
        server = start_gunicorn(args.port, args.workers, args.threads)
        # Warm every worker up (imports, first user-agent parse, DB connection) before timing.
        warm = build_batches(api_environment.app_id, warmup * args.batch, args.batch, prefix="w")
        _bodies.extend([warm[0::2], warm[1::2]])
        context = multiprocessing.get_context("fork")
        with context.Pool(args.clients) as pool:
            pool.starmap(send_all, [(args.clients, args.port), (args.clients + 1, args.port)])
            server_before, database_before = workers_cpu_seconds(server), other_backends_cpu_seconds()
            children_before, cluster_before = children_cpu_seconds(), cluster_cpu_seconds()
            started = time.perf_counter()
            results = pool.starmap(send_all, [(index, args.port) for index in range(args.clients)])
            api_seconds = time.perf_counter() - started
            server_cpu = workers_cpu_seconds(server) - server_before
            database_cpu = other_backends_cpu_seconds() - database_before
            cluster_cpu = {node: used - cluster_before[node] for node, used in cluster_cpu_seconds().items()}
        clients_cpu = children_cpu_seconds() - children_before
        stop(server)
        stored = sum(result[0] for result in results)
        failures = sum(result[1] for result in results)
        in_table = RawEvent.objects.filter(environment=api_environment).count()
        in_table -= warmup * args.batch
        if failures or stored != in_table or in_table != len(bodies) * args.batch:
            raise SystemExit(f"{failures} failed requests; {stored} reported stored, {in_table} in raw_events")

        # The fastest of a few COPY runs: machine noise can only flatter the baseline, not the API.
        copies = [copy_baseline(api_environment.pk, environment.pk) for environment in copy_environments]
        copied, copy_seconds, copy_cpu = min(copies, key=lambda run: run[1] / run[0])
        api_rate = stored / api_seconds
        copy_rate = copied / copy_seconds
        ratio = api_rate / copy_rate
        # CPU per event is what a busy shared machine changes least: the same comparison by work done.
        api_cpu_per_event = (server_cpu + database_cpu) / stored
        copy_cpu_per_row = copy_cpu / copied
        setup = f"{args.clients} clients, gunicorn {args.workers} workers x {args.threads} threads (gthread)"
        print(f"events: {stored:,} in batches of {args.batch}; {setup}")
        print(f"POST /api/collect : {api_rate:10,.0f} events/s  ({api_seconds:.2f} s)")
        print(f"COPY baseline     : {copy_rate:10,.0f} rows/s    ({copy_seconds:.2f} s, best of {len(copies)})")
        print(f"ratio             : {ratio:10.1%}  (target >= {TARGET_RATIO:.0%})")
        print(f"throughput target : {TARGET_EVENTS_PER_SECOND:,} events/s -> ", end="")
        print("met" if api_rate >= TARGET_EVENTS_PER_SECOND else "MISSED")
        print(
            f"CPU per 1000 events: API {api_cpu_per_event * 1e6:.0f} ms (app server {server_cpu / stored * 1e6:.0f},"
            f" PostgreSQL {database_cpu / stored * 1e6:.0f}); clients {clients_cpu / stored * 1e6:.0f} ms;"
            f" COPY {copy_cpu_per_row * 1e6:.0f} ms -> CPU ratio {copy_cpu_per_row / api_cpu_per_event:.1%}"
        )
        if cluster_cpu:
            per_node = ", ".join(f"{node} {used / stored * 1e6:.0f}" for node, used in cluster_cpu.items())
            print(f"Citus CPU per 1000 events, every PostgreSQL process of each node: {per_node} ms")
            report.figure(
                "Citus: CPU per 1000 events, all nodes' PostgreSQL processes",
                sum(cluster_cpu.values()) / stored * 1e6,
                "ms",
                extra={f"{node} ms": used / stored * 1e6 for node, used in cluster_cpu.items()},
            )
        print(
            "load average      : {:.1f} {:.1f} {:.1f} (1/5/15 min, {} cores)".format(*os.getloadavg(), os.cpu_count())
        )
        report.figure(
            f"POST /api/collect, {stored:,} events ({setup})",
            api_rate,
            "events/s",
            baseline=copy_rate,
            baseline_name="COPY of the same rows",
            ratio=ratio,
            ratio_unit="%",
            target=f">= {TARGET_EVENTS_PER_SECOND:,} events/s and >= {TARGET_RATIO:.0%} of COPY",
            met=api_rate >= TARGET_EVENTS_PER_SECOND and ratio >= TARGET_RATIO,
            extra={"cpu_ms_per_1000": api_cpu_per_event * 1e6, "copy_cpu_ms_per_1000": copy_cpu_per_row * 1e6},
        )
        report.figure(
            "CPU per 1000 events (app server + PostgreSQL)",
            api_cpu_per_event * 1e6,
            "ms",
            baseline=copy_cpu_per_row * 1e6,
            baseline_name="COPY CPU",
            ratio=copy_cpu_per_row / api_cpu_per_event,
            ratio_unit="%",
        )
        report.write(args.json)
    finally:
        if server is not None:
            stop(server)
        for environment in environments:
            for model in (RawEvent, RawSession, RawUser):
                model.objects.filter(environment=environment).delete()
            environment.delete()


if __name__ == "__main__":
    main()
