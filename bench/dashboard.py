"""Dashboard counts on big raw stores: the page with several large environments vs plain count(*).

    python bench/dashboard.py [--events N] [--environments 4]

Loads --environments environments into a scratch database (dropped afterwards): one of N synthetic
raw events and the others of min(N, 1M) (the four of the 20M run: 1M, 1M, 5M, 20M had the same
shape), each with N/17 users and N/10 sessions as the demo has them, so every count is past the
cap (EXACT_COUNT_LIMIT), then `VACUUM ANALYZE` as autovacuum would have. Times, best of 5:
heapsite.selectors.environment_stats for all of them (what / runs), the same with every count
walked up to the cap (the path before statistics decided which to walk), and the dashboard page
itself through Django. Baseline, in the same run: what a naive page would run, exact count(*) of
each environment's events and last day's events. Target: the page under 100 ms, whatever N.

Then --under-cap environments of 90% of EXACT_COUNT_LIMIT events each (none past the cap on its
own) join them: environment_stats of those, against every one of them counted exactly (what the
page did before they shared one budget), and the page with all of them.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from unittest import mock

from _report import Report, add_json_argument

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

TARGET_MS = 100.0
OTHERS_EVENTS = 1_000_000

LOAD_USERS = """
INSERT INTO raw_users (environment_id, user_id, identity, joindate, last_modified, properties)
SELECT %(env)s, i, NULL, now(), now(), '{}' FROM generate_series(1, %(users)s) i
"""
LOAD_SESSIONS = """
INSERT INTO raw_sessions (environment_id, session_id, user_id, time, last_event_time, last_modified, library, platform,
  device_type, browser, country, region, city, referrer, landing_page, landing_page_query, landing_page_hash,
  search_keyword, utm_source, utm_medium, utm_campaign, utm_term, utm_content, properties)
SELECT %(env)s, i, 1 + i %% %(users)s, now() - (i %% 720) * interval '1 hour', now(), now(), 'web', '', '', '', '',
  '', '', '', '', '', '', '', '', '', '', '', '', '{}'
FROM generate_series(1, %(sessions)s) i
"""
LOAD_EVENTS = """
INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type, event_name, domain,
  path, query, hash, title, referrer, target_tag, target_id, target_classes, target_text, target_href, hierarchy,
  library, properties)
SELECT %(env)s, 'e' || i, 1 + i %% %(users)s, 1 + i %% %(sessions)s, now() - (i %% 720) * interval '1 hour', now(),
  'pageview', '', 'shop.example', '/', '', '', '', '', '', '', '{}', '', '', '[]', 'web', '{}'
FROM generate_series(1, %(events)s) i
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="the largest environment's raw events")
    parser.add_argument("--environments", type=int, default=4)
    parser.add_argument("--under-cap", type=int, default=6, help="environments each just under the cap")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("dashboard")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_databases, setup_test_environment, teardown_databases

    settings.DATABASES["default"]["TEST"]["NAME"] = settings.DATABASES["default"]["NAME"] + "_bench_dashboard"
    config = setup_databases(verbosity=0, interactive=False)
    try:
        from heapsite import selectors
        from heapsite.services import environment_create

        def load_environments(sizes: list[int], prefix: str) -> list:
            environments = []
            started = time.monotonic()
            with connection.cursor() as cursor:
                for number, events in enumerate(sizes):
                    environment, _ = environment_create(project_name="bench", name=f"{prefix}{number}")
                    environments.append(environment)
                    shape = {"env": environment.id, "events": events, "users": events // 17, "sessions": events // 10}
                    for statement in (LOAD_USERS, LOAD_SESSIONS, LOAD_EVENTS):
                        cursor.execute(statement, shape)
                cursor.execute("VACUUM (ANALYZE) raw_events, raw_users, raw_sessions, raw_identity_merges")
            print(f"loaded {', '.join(f'{n:,}' for n in sizes)} events in {time.monotonic() - started:.0f} s")
            return environments

        sizes = [args.events] + [min(args.events, OTHERS_EVENTS)] * (args.environments - 1)
        environments = load_environments(sizes, "big")
        load = os.getloadavg()[0]

        def best_of(runs, fn):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t)
            return min(times) * 1000

        def naive():
            with connection.cursor() as cursor:
                for environment in environments:
                    cursor.execute("SELECT count(*) FROM raw_events WHERE environment_id = %s", [environment.id])
                    cursor.execute(
                        "SELECT count(*) FROM raw_events WHERE environment_id = %s AND time >= now() - interval '1 day'",
                        [environment.id],
                    )

        def stats(of=environments):
            return selectors.environment_stats(environments=of)

        setup_test_environment()  # lets the test client run against this database
        client = Client()
        client.force_login(get_user_model().objects.create_superuser("bench", "bench@example.com", "bench-only"))

        def page():
            response = client.get("/")
            assert response.status_code == 200, response.status_code

        page()  # warm: first-request costs (templates, plans) are not what is measured
        ours = best_of(5, stats)
        with mock.patch.object(selectors, "_estimated_first", return_value=(set(), selectors.EXACT_COUNT_LIMIT)):
            walked = best_of(5, stats)
        page_ms = best_of(5, page)
        baseline = best_of(3, naive)
        shown = stats()
        with (  # the exact counts, to report the estimates' error
            mock.patch.object(selectors, "_estimated_first", return_value=(set(), 10**12)),
            mock.patch.object(selectors, "EXACT_COUNT_LIMIT", 10**12),
        ):
            exact = stats()
        error = 0.0
        for row, exact_row in zip(shown, exact, strict=True):
            counts = [(name, getattr(row, name), getattr(exact_row, name)) for name in selectors.COUNT_HELP]
            error = max([error] + [abs(c.value - e.value) / max(e.value, 1) for _, c, e in counts if c.approximate])
            print(
                f"  {row.environment.label}: "
                + ", ".join(f"{n} {'≈' if c.approximate else ''}{c.value:,} (exact {e.value:,})" for n, c, e in counts)
            )
        met = page_ms < TARGET_MS
        print(
            f"environment_stats of {len(sizes)} environments: {ours:.1f} ms (every count walked to the cap: {walked:.1f} ms)"
        )
        print(f"the dashboard page: {page_ms:.1f} ms   baseline exact count(*): {baseline:.1f} ms")
        print(f"the estimates' largest error against the exact counts: {error:.1%}")
        print(f"target: page < {TARGET_MS:g} ms: {'OK' if met else 'MISSED'} (load {load:.1f})")
        label = f"{len(sizes)} environments, {', '.join(f'{n:,}' for n in sizes)} events"
        report.figure(
            f"dashboard page, {label} (load {load:.1f})",
            page_ms,
            "ms",
            baseline=baseline,
            baseline_name="exact count(*) of events and last day's events",
            target=f"< {TARGET_MS:g} ms",
            met=met,
            extra={"sizes": sizes, "load": load, "estimate_error": error},
        )
        report.figure(
            f"dashboard counts (environment_stats), {label}",
            ours,
            "ms",
            baseline=walked,
            baseline_name="every count walked to the cap",
            extra={"sizes": sizes},
        )
        if args.under_cap:
            under = load_environments([selectors.EXACT_COUNT_LIMIT * 9 // 10] * args.under_cap, "under")
            shared = best_of(5, lambda: stats(under))
            with mock.patch.object(selectors, "_estimated_first", return_value=(set(), selectors.EXACT_COUNT_LIMIT)):
                each_exact = best_of(5, lambda: stats(under))
            page()
            all_page_ms = best_of(5, page)
            shown = stats(under)
            exact_shown = sum(not row.events.approximate for row in shown)
            under_label = f"{args.under_cap} environments of {selectors.EXACT_COUNT_LIMIT * 9 // 10:,} events"
            print(
                f"environment_stats of {under_label}: {shared:.1f} ms ({exact_shown} counted exactly, the rest"
                f" estimated first); every one counted exactly: {each_exact:.1f} ms"
            )
            print(f"the dashboard page with all {len(sizes) + args.under_cap} environments: {all_page_ms:.1f} ms")
            report.figure(
                f"dashboard counts (environment_stats), {under_label}",
                shared,
                "ms",
                baseline=each_exact,
                baseline_name="every environment under the cap counted exactly",
                target=f"< {TARGET_MS:g} ms",
                met=shared < TARGET_MS,
                extra={"environments": args.under_cap, "exact": exact_shown},
            )
            report.figure(
                f"dashboard page, the {label} and the {under_label}",
                all_page_ms,
                "ms",
                target=f"< {TARGET_MS:g} ms",
                met=all_page_ms < TARGET_MS,
            )
        report.write(args.json)
    finally:
        teardown_databases(config, verbosity=0)


if __name__ == "__main__":
    main()
