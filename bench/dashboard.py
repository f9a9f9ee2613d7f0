"""Dashboard counts on a big raw store: bounded counts + estimates vs. plain count(*).

    python bench/dashboard.py [--events N]

Loads N synthetic raw events (one environment, in a scratch database that is dropped afterwards),
then times heapsite.selectors.environment_stats (what / and /e/<schema>/ run) against the
baseline a naive page would run: exact count(*) of each metric. Target: under 100 ms at 1M events,
independent of N.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("dashboard")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    settings.DATABASES["default"]["TEST"]["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench_dashboard"
    config = setup_databases(verbosity=0, interactive=False)
    try:
        from heapsite.selectors import environment_stats
        from heapsite.services import environment_create

        environment, _ = environment_create(project_name="bench", name="big")
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type,"
                " event_name, domain, path, query, hash, title, referrer, target_tag, target_id, target_classes,"
                " target_text, target_href, hierarchy, library, properties)"
                " SELECT %s, 'e' || i, i %% 50000, i %% 200000, now() - (i %% 720) * interval '1 hour', now(),"
                " 'pageview', '', 'shop.example', '/', '', '', '', '', '', '', '{}', '', '', '[]', 'web', '{}'"
                " FROM generate_series(1, %s) i",
                [environment.id, args.events],
            )
            cursor.execute("ANALYZE raw_events")
        print(f"loaded {args.events:,} events in {time.monotonic() - started:.1f}s")

        def best_of(runs, fn):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            return min(times)

        def naive():
            with connection.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM raw_events WHERE environment_id = %s", [environment.id])
                cursor.execute(
                    "SELECT count(*) FROM raw_events WHERE environment_id = %s AND time >= now() - interval '1 day'",
                    [environment.id],
                )

        ours = best_of(5, lambda: environment_stats(environments=[environment]))
        baseline = best_of(3, naive)
        (stats,) = environment_stats(environments=[environment])
        print(f"events shown: {stats.events.value:,} ({'estimate' if stats.events.approximate else 'exact'})")
        print(f"dashboard counts: {ours * 1000:.1f} ms   baseline count(*): {baseline * 1000:.1f} ms")
        print(f"ratio: {baseline / ours:.1f}x faster   target: < 100 ms")
        report.figure(
            f"dashboard counts, {args.events:,} events",
            ours * 1000,
            "ms",
            baseline=baseline * 1000,
            baseline_name="exact count(*)",
            target="< 100 ms",
            met=ours < 0.1,
        )
        report.write(args.json)
    finally:
        teardown_databases(config, verbosity=0)


if __name__ == "__main__":
    main()
