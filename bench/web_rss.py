"""A web process's peak RSS serving the pages that read the most history, at several sizes (target: flat in N).

    python bench/web_rss.py [--sizes 5000000,20000000] [--events 1000000] [--repeat 2]

For each size, the environment bench/sync_scale.py filled with that many events (run it first with
the same --sizes and --events; bench/sync.py's synthetic data): a fresh gunicorn with one worker
(gunicorn.conf.py, gthread), a session made here for a superuser, and the pages: the dashboard (every environment's counts), the
raw list (first page, clicks, a page 90% deep), Top interactions over 30 days (the estimate, then
the exact counts the page fetches next), the definition preview over 30 days (estimate, exact) and
the timeline of a user with 1/20,000 of the events. Reported: the worker's peak RSS (VmHWM) after
them, next to its peak after the login page alone (the baseline: the process before it reads any
history). The worker's clock stands at the environment's newest event (bench/_frozen_now_wsgi.py):
the generator's histories end in the past, and the 30-day windows would otherwise be empty.
"""

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import requests
from _report import Report, add_json_argument
from sync_scale import environment_name, load_sync_bench

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

import django  # noqa: E402

django.setup()

from _web import gunicorn_worker  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402

from definitions.browse.filters import Cursor  # noqa: E402
from warehouse.models import Environment, RawEvent  # noqa: E402

# Matches a tenth of the generator's clicks (a selector like bench/sync.py's definition 2's).
PREVIEW_GROUPS = [{"kind": "click", "conditions": [{"type": "selector", "value": ".btn-3"}]}]
# The flat-in-N target: the larger history's peak at most this much above the smaller's.
TARGET_GROWTH = 1.10


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """The process's peak RSS so far (the kernel's VmHWM, not a sample)."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def history(environment: Environment) -> tuple[int, str, str]:
    """(events, the newest event's time as ISO, a raw-list cursor 90% of the way back)."""
    events = RawEvent.objects.filter(environment=environment)
    total = events.count()
    newest = events.order_by("-time").values_list("time", flat=True).first()
    # Bench only: the row that many steps back (the browser itself never uses OFFSET).
    deep = Cursor(*events.order_by("-time", "-id").values_list("time", "id")[int(total * 0.9)]).encode()
    return total, newest.isoformat(), deep


def measure(environment: Environment, user, repeat: int) -> dict:
    events, newest, deep = history(environment)
    port = free_port()
    with gunicorn_worker(user, port, {"BENCH_NOW": newest}, app="_frozen_now_wsgi:application") as (worker, cookies):
        baseline = peak_rss_mb(worker.pid)  # after the login page that told the server was up
        http = requests.Session()
        http.cookies.update(cookies)
        root = f"http://127.0.0.1:{port}"
        base = f"{root}/e/{environment.warehouse_schema}"
        preview = {"groups": json.dumps(PREVIEW_GROUPS)}
        pages = [
            ("dashboard", "GET", f"{root}/", None),
            ("raw list", "GET", f"{base}/raw/", None),
            ("raw list, clicks", "GET", f"{base}/raw/?type=click", None),
            ("raw list, 90% deep", "GET", f"{base}/raw/?{urlencode({'cursor': deep})}", None),
            ("top interactions 30 days", "GET", f"{base}/raw/top/?range=30d", None),
            ("top interactions 30 days, exact", "GET", f"{base}/raw/top/?range=30d&exact=1", None),
            ("preview", "POST", f"{base}/definitions/preview", preview),
            ("preview, exact", "POST", f"{base}/definitions/preview", {**preview, "exact": "1"}),
            ("user timeline", "GET", f"{base}/users/1/", None),
        ]
        seconds = {}
        for _ in range(repeat):
            for name, method, url, data in pages:
                started = time.monotonic()
                response = http.request(
                    method, url, data=data, headers={"X-CSRFToken": cookies["csrftoken"]}, timeout=600
                )
                seconds[name] = time.monotonic() - started
                if response.status_code != 200:
                    raise SystemExit(f"{name}: {url} answered {response.status_code}: {response.text[:300]!r}")
        return {"events": events, "baseline": baseline, "peak": peak_rss_mb(worker.pid), "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000000,20000000", help="bench/sync_scale.py's sizes, smallest first")
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="bench/sync_scale.py's N (names its environments)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="times each page is asked for")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("web_rss")
    user = get_user_model().objects.filter(is_superuser=True).first() or get_user_model().objects.create_superuser(
        "bench", "bench@example.com", "bench-only-password"
    )
    measured = []
    sync_bench = load_sync_bench()
    for size in (int(x) for x in args.sizes.split(",")):
        environment = Environment.objects.get(
            project__name=sync_bench.PROJECT, name=environment_name(size, args.events)
        )
        schema = environment.warehouse_schema
        load = os.getloadavg()[0]
        result = measure(environment, user, args.repeat)
        measured.append(result)
        print(
            f"{result['events']:>11,} events ({schema}, load {load:.1f}): web worker peak RSS {result['peak']:.0f} MB"
            f" (after the login page alone: {result['baseline']:.0f} MB); each page's last answer: "
            + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in result["seconds"].items()),
            flush=True,
        )
        report.figure(
            f"web worker peak RSS, {result['events']:,} events (load {load:.1f})",
            result["peak"],
            "MB",
            baseline=result["baseline"],
            baseline_name="after the login page alone",
            extra={**result, "load": load},
        )
        report.point("web worker peak RSS MB by events", result["events"], result["peak"])
    if len(measured) >= 2:
        small, large = measured[0], measured[-1]
        growth = large["peak"] / small["peak"]
        met = growth <= TARGET_GROWTH
        print(
            f"from {small['events']:,} to {large['events']:,} events: peak RSS x{growth:.2f}"
            f" (target <= x{TARGET_GROWTH:.2f}, flat in N: {'OK' if met else 'MISSED'})"
        )
        report.figure(
            f"web worker peak RSS at {large['events']:,} events vs {small['events']:,}",
            large["peak"],
            "MB",
            baseline=small["peak"],
            baseline_name=f"at {small['events']:,} events",
            target=f"<= {TARGET_GROWTH:.2f}x (flat in N)",
            met=met,
        )
    report.write(args.json)


if __name__ == "__main__":
    main()
