"""The retention job's effect on concurrent ingestion, next to ingestion alone in the same run.

    python bench/retention.py [--events 1000000] [--cycles 5] [--rate 2500] [--clients 2] [--workers 2] [--threads 2] [--port 8192]

Seeds an environment with N demo events over 90 days (seed_demo) and deletes the older half (~N/2
raw events) by retention, in --cycles slices (each a retention run whose cutoff is a step later).
Clients POST heap.js batches to /api/collect of the same environment through gunicorn throughout,
at a steady offered rate (--rate, as a site's visitors send them, below what the machine can take):
alone for a window, then while a slice is deleted, alone again, and so on, so each deletion window
sits between two windows of ingestion alone (the machine is shared: adjacent windows are what
compare). Prints, per cycle and as the median of the cycles, the request latency (p95) and the
rate ingestion kept up with during the deletion against the mean of the two windows around it.
Targets: p95 latency <= 2x and >= 95% of the rate while the job runs.
"""

import argparse
import http.client
import json
import math
import multiprocessing
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from _report import Report, add_json_argument
from ingest import USER_AGENT, build_batches, start_gunicorn, stop

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

SCHEMA = "bench_retention"
BATCH = 50
TARGET_RATE_RATIO = 0.95
TARGET_P95_RATIO = 2.0


def send_until(
    client: int, phase: str, port: int, app_id: str, interval: float, stop_at, seconds: float
) -> tuple[int, list[float]]:
    """POST a batch every `interval` seconds (late ones go at once) until `stop_at` is set (or
    `seconds` pass when it is None); (events stored, latencies)."""
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": USER_AGENT}
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    stored, latencies, chunk, sent = 0, [], 0, 0
    start = time.monotonic()
    while not (stop_at.is_set() if stop_at is not None else time.monotonic() >= start + seconds):
        # Ten batches at a time, ids unique per client, phase and chunk.
        for body in build_batches(app_id, 10 * BATCH, BATCH, seed=chunk, prefix=f"{phase}{client}-{chunk}-"):
            time.sleep(max(0.0, start + sent * interval - time.monotonic()))
            sent += 1
            started = time.perf_counter()
            connection.request("POST", "/api/collect", body=body, headers=headers)
            response = connection.getresponse()
            reply = response.read()
            latencies.append(time.perf_counter() - started)
            if response.will_close:
                connection.close()
            if response.status != 200:
                raise SystemExit(f"HTTP {response.status}: {reply[:300]!r}")
            stored += json.loads(reply)["inserted"]
        chunk += 1
    connection.close()
    return stored, latencies


def measure(pool, args, app_id: str, phase: str, *, stop_at=None, seconds: float = 0.0) -> dict:
    interval = args.clients * BATCH / args.rate
    started = time.perf_counter()
    work = [(client, phase, args.port, app_id, interval, stop_at, seconds) for client in range(args.clients)]
    results = pool.starmap(send_until, work)
    elapsed = time.perf_counter() - started
    latencies = sorted(latency for _, client_latencies in results for latency in client_latencies)
    stored = sum(result[0] for result in results)
    return {
        "rate": stored / elapsed,
        "events": stored,
        "seconds": elapsed,
        "p50": statistics.median(latencies),
        "p95": latencies[min(len(latencies) - 1, math.ceil(0.95 * len(latencies)) - 1)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--rate", type=float, default=2500, help="events/s the clients offer (a batch of 50 at a time)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--port", type=int, default=8192)
    parser.add_argument("--cycles", type=int, default=5, help="retention runs, each between two windows alone")
    parser.add_argument("--window", type=float, default=6.0, help="seconds of each window of ingestion alone")
    parser.add_argument("--keep", action="store_true", help="keep the seeded environment afterwards")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("retention")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone
    from psycopg2 import sql

    from demo.seed.services import demo_seed
    from heapsite.services import environment_delete
    from warehouse.models import Environment, RawEvent
    from warehouse.models.raw import raw_events_partition
    from warehouse.privacy.services import retention_run

    call_command("migrate", verbosity=0)
    old = Environment.objects.filter(warehouse_schema=SCHEMA).first()
    if old is not None:
        environment_delete(environment=old)
    seeded = demo_seed(schema=SCHEMA, events=args.events, seed=3)
    environment = seeded.environment
    print(f"seeded {args.events:,} events in {seeded.seconds:.1f} s")
    with connection.cursor() as cursor:
        # As a running site's tables would be: statistics and visibility map up to date after the seed.
        cursor.execute(
            sql.SQL("VACUUM ANALYZE {}, raw_sessions").format(sql.Identifier(raw_events_partition(environment.pk)))
        )
        cursor.execute(
            "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY time) FROM raw_events WHERE environment_id = %s",
            [environment.pk],
        )
        median = cursor.fetchone()[0]
    now = timezone.now()
    environment.retention_days = max(1, math.ceil((now - median).total_seconds() / 86400))
    environment.save(update_fields=["retention_days"])
    doomed = RawEvent.objects.filter(
        environment=environment, time__lt=now - timedelta(days=environment.retention_days)
    ).count()
    print(f"retention {environment.retention_days} days: {doomed:,} raw events are older")

    with connection.cursor() as cursor:
        cursor.execute("SELECT min(time) FROM raw_events WHERE environment_id = %s", [environment.pk])
        oldest = cursor.fetchone()[0]
    cutoff = now - timedelta(days=environment.retention_days)
    # The cycle's "now": its retention run deletes what is older than a step more of the old half.
    steps = [
        oldest + (cutoff - oldest) * (k + 1) / args.cycles + timedelta(days=environment.retention_days)
        for k in range(args.cycles)
    ]
    server = start_gunicorn(args.port, args.workers, args.threads)
    alone, during, runs = [], [], []
    try:
        context = multiprocessing.get_context("fork")
        manager = context.Manager()
        with context.Pool(args.clients) as pool:
            measure(pool, args, environment.app_id, "warm", seconds=3)
            alone.append(measure(pool, args, environment.app_id, "alone0", seconds=args.window))
            for cycle, step in enumerate(steps):
                done = manager.Event()
                outcome = {}

                def delete(step=step, done=done, outcome=outcome) -> None:
                    try:
                        started = time.perf_counter()
                        outcome["run"] = retention_run(environment_id=environment.pk, now=step)
                        outcome["seconds"] = time.perf_counter() - started
                    finally:
                        connection.close()
                        done.set()

                deleter = threading.Thread(target=delete)
                deleter.start()
                during.append(measure(pool, args, environment.app_id, f"during{cycle}", stop_at=done))
                deleter.join()
                runs.append(outcome)
                alone.append(measure(pool, args, environment.app_id, f"alone{cycle + 1}", seconds=args.window))
    finally:
        stop(server)
    setup = f"{args.rate:,.0f} events/s offered by {args.clients} clients, gunicorn {args.workers}x{args.threads}"
    deleted = sum(outcome["run"].events_deleted for outcome in runs)
    deleting_seconds = sum(outcome["seconds"] for outcome in runs)
    batches = sum(outcome["run"].batches for outcome in runs)
    print(
        f"retention: {deleted:,} events in {len(runs)} runs, {batches} batches of {settings.RETENTION_BATCH_SIZE}"
        f" ({settings.RETENTION_BATCH_PAUSE_MS} ms apart), {deleting_seconds:.1f} s = {deleted / deleting_seconds:,.0f} events/s"
    )
    rate_ratios, p95_ratios = [], []
    for cycle, phase in enumerate(during):
        around = alone[cycle : cycle + 2]
        rate_ratios.append(phase["rate"] / statistics.mean(window["rate"] for window in around))
        p95_ratios.append(phase["p95"] / statistics.mean(window["p95"] for window in around))
        print(
            f"cycle {cycle + 1}: alone {around[0]['rate']:7,.0f} | during {phase['rate']:7,.0f} over"
            f" {phase['seconds']:4.1f} s | alone {around[1]['rate']:7,.0f} events/s -> {rate_ratios[-1]:6.1%};"
            f" p95 {around[0]['p95'] * 1000:5.1f} | {phase['p95'] * 1000:5.1f} | {around[1]['p95'] * 1000:5.1f} ms"
            f" -> {p95_ratios[-1]:.2f}x"
        )
    rate_ratio, p95_ratio = statistics.median(rate_ratios), statistics.median(p95_ratios)
    during_rate = statistics.median(phase["rate"] for phase in during)
    during_p95 = statistics.median(phase["p95"] for phase in during) * 1000
    print(
        f"ingestion rate during retention / alone (median of cycles): {rate_ratio:.1%} (target >= {TARGET_RATE_RATIO:.0%})"
    )
    print(
        f"p95 latency during retention / alone (median of cycles)   : {p95_ratio:.2f}x (target <= {TARGET_P95_RATIO:.1f}x)"
    )
    print("load average: {:.1f} {:.1f} {:.1f} (1/5/15 min, {} cores)".format(*os.getloadavg(), os.cpu_count()))
    report.figure(
        f"ingestion during retention of {deleted:,} of {args.events:,} events ({setup}; median of {len(during)} cycles)",
        during_rate,
        "events/s",
        baseline=during_rate / rate_ratio,
        baseline_name="ingestion alone, the windows around",
        ratio=rate_ratio,
        ratio_unit="%",
        target=f">= {TARGET_RATE_RATIO:.0%} of alone",
        met=rate_ratio >= TARGET_RATE_RATIO,
    )
    report.figure(
        "ingestion p95 latency during retention",
        during_p95,
        "ms",
        baseline=during_p95 / p95_ratio,
        baseline_name="p95 alone, the windows around",
        ratio=p95_ratio,
        target=f"<= {TARGET_P95_RATIO:.0f}x",
        met=p95_ratio <= TARGET_P95_RATIO,
    )
    report.figure(
        f"retention runs ({settings.RETENTION_BATCH_SIZE} rows per batch, {settings.RETENTION_BATCH_PAUSE_MS} ms apart)",
        deleted / deleting_seconds,
        "events deleted/s",
    )
    report.write(args.json)
    if not args.keep:
        environment_delete(environment=Environment.objects.get(pk=environment.pk))


if __name__ == "__main__":
    main()
