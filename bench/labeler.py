"""The labeler's count endpoint (POST /api/labeler/<schema>/count) at 1M events, next to the preview's counts.

    python bench/labeler.py [--events 1000000] [--regenerate]

Uses DATABASE_URL (or the embedded PostgreSQL) and its own environment bench_labeler, filled with
bench/preview.py's synthetic events (clicks, pageviews and changes on five page shapes) but spread
evenly over the last 30 days (preview.py's span the last 11.6 days), so each window holds its share. Each request goes through Django's whole stack in this process
(origin and token checks, the rate limit in Redis, JSON), warm, best of 5. The labeler asks for the
last 7 days first (its first answer) and the exact 30-day count after; both are measured, against the
preview's per-day counts for the same groups over 30 days and a sequential-scan count(*), in the same run.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument
from preview import GENERATE, SELECTORS, best_of

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

SITE = "https://shop.example"
TARGET_MS = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the synthetic events even if present")
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("labeler")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client, RequestFactory

    from definitions import sql as definitions_sql
    from definitions.labeler.selectors import labeler_clickmap, window_start
    from definitions.labeler.services import labeler_launch
    from definitions.services import definition_check_groups
    from warehouse.models import Environment, Project, RawEvent

    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.LABELER_RATE_LIMIT_PER_MINUTE = 1_000_000  # the bench is one busy session
    project, _ = Project.objects.get_or_create(name="bench")
    environment = Environment.objects.filter(warehouse_schema="bench_labeler").first()
    if environment is None:
        environment = Environment(project=project, name="labeler", warehouse_schema="bench_labeler")
        environment.set_api_key("bench-labeler-key")
        environment.save()
    environment.labeler_origins = [SITE]
    environment.save(update_fields=["labeler_origins"])
    have = RawEvent.objects.filter(environment=environment).count()
    if have != args.events or args.regenerate:
        print(f"generating {args.events:,} events (had {have:,}) …", flush=True)
        started = time.perf_counter()
        with transaction.atomic():
            RawEvent.objects.filter(environment=environment).delete()
            with connection.cursor() as cursor:
                spread = GENERATE.replace(
                    "(g %% 2592000) * interval '1 second'", "(g * 2592000.0 / %(events)s) * interval '1 second'"
                )
                assert spread != GENERATE
                cursor.execute(spread, {"events": args.events, "env": environment.pk})
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE raw_events")

    user, _ = User.objects.get_or_create(username="bench-labeler", defaults={"is_superuser": True})
    launch = labeler_launch(environment=environment, user=user, url=SITE + "/", request=RequestFactory().get("/"))
    client = Client(HTTP_ORIGIN=SITE)
    answer = client.post(
        "/api/labeler/bench_labeler/session",
        json.dumps({"launch_token": launch.url.rsplit(".", 1)[1]}),
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    token = answer.json()["access_token"]

    def count_all():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_indexonlyscan = off")
            cursor.execute("SET LOCAL enable_indexscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SELECT count(*) FROM raw_events e WHERE e.environment_id = %s", [environment.pk])
            return cursor.fetchone()[0]

    count_all()
    scan_baseline, total = best_of(5, count_all)
    print(f"events in environment: {total:,}")
    print(f"baseline  count(*) as a sequential scan:  {scan_baseline * 1000:8.1f} ms")

    for label, selector in SELECTORS.items():
        groups = [{"kind": "click", "conditions": [{"type": "selector", "value": selector}]}]
        predicate, params = definition_check_groups(environment=environment, groups=groups, prefix="pn_")

        def preview(predicate=predicate, params=params):
            return definitions_sql.daily_counts(
                environment_id=environment.pk, since=window_start(30), predicate=predicate, params=params
            )

        def request(days, groups=groups):
            response = client.post(
                "/api/labeler/bench_labeler/count",
                json.dumps({"groups": groups, "days": days}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {token}",
            )
            assert response.status_code == 200, response.content
            return response.json()["count"]

        preview()
        preview_time, rows = best_of(5, preview)
        request(7)
        first_time, first = best_of(5, lambda: request(7))
        exact_time, exact = best_of(5, lambda: request(30))
        assert exact == sum(r[1] for r in rows), "the endpoint counts what the preview counts"
        met = first_time * 1000 < TARGET_MS
        print(f"count endpoint ({label}) {selector!r}")
        print(
            f"  first answer, last 7 days:  {first_time * 1000:8.1f} ms  ({first:,} matches; target < {TARGET_MS} ms: "
            f"{'OK' if met else 'MISSED'})"
        )
        print(f"  exact 30-day count after:   {exact_time * 1000:8.1f} ms  ({exact:,} matches)")
        print(f"  preview per-day counts, 30 days (baseline): {preview_time * 1000:8.1f} ms")
        report.figure(
            f"labeler count endpoint, {label} selector, first answer (7 days)",
            first_time * 1000,
            "ms",
            baseline=preview_time * 1000,
            baseline_name="preview counts, 30 days",
            target=f"< {TARGET_MS} ms",
            met=met,
            extra={"exact_30_days_ms": exact_time * 1000, "seq_scan_count_ms": scan_baseline * 1000},
        )

    clickmap_time, items = best_of(3, lambda: labeler_clickmap(environment=environment, path="/"))
    print(f"clickmap of / ({len(items)} targets, 7 and 30 days in one scan): {clickmap_time * 1000:8.1f} ms")
    report.figure(
        "labeler clickmap of one path",
        clickmap_time * 1000,
        "ms",
        baseline=scan_baseline * 1000,
        baseline_name="count(*) seq scan",
    )
    report.write(args.json)


if __name__ == "__main__":
    main()
