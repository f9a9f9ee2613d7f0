"""Live preview of a selector definition (per-day counts over 30 days) next to a plain count(*).

    python bench/preview.py [--events 1000000] [--regenerate] [--environment SCHEMA]

Uses DATABASE_URL (or the embedded PostgreSQL). Creates the environment bench_preview and fills
it with synthetic clicks/pageviews spread over the last 30 days, so the preview has to judge every
one of the environment's events (the worst case; real history is longer than the window).
Both queries are measured warm, best of 5, in the same run. The whole preview (counts and newest
matches) is also timed exact and estimated from the block sample a range above
RAW_ESTIMATE_ABOVE_EVENTS gets (forced here at any size), with the estimate's error.
"""

import argparse
import os
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

TARGET_RATIO = 2.0
TARGET_SECONDS = 0.5
# A typical definition (descendant + classes + attribute) and one whose two `>`/descendant
# segments need the general hierarchy walk; both run as the preview runs them.
SELECTORS = {
    "typical": 'form#signup button.btn-primary[type="submit"]',
    "walk": "#pricing .plan-card > .card-footer a",
}

# With --environment (demo data): a selector from the demo's Top interactions and one that walks the hierarchy.
DEMO_SELECTORS = {"typical": "a.nav-link", "walk": "form#signup-form input"}

# Five page shapes (target first), picked per event; every element also gets a random extra class.
GENERATE = """
WITH shapes(n, tag, id, classes, attrs, hierarchy) AS (VALUES
 (0, 'button', '', ARRAY['btn','btn-primary'], '{"type":"submit"}'::jsonb,
  '[{"tag":"form","id":"signup","attrs":{"method":"post","action":"/signup"}},{"tag":"div","classes":["container","mx-auto"]},
    {"tag":"main","id":"content"},{"tag":"body","classes":["page"]},{"tag":"html","attrs":{"lang":"en"}}]'::jsonb),
 (1, 'a', '', ARRAY['nav-link'], '{"href":"/pricing"}'::jsonb,
  '[{"tag":"li","classes":["nav-item"]},{"tag":"ul","classes":["nav","navbar-nav"]},{"tag":"nav","classes":["main-nav"]},
    {"tag":"header","classes":["site-header","sticky"]},{"tag":"body","classes":["page"]},{"tag":"html","attrs":{"lang":"en"}}]'::jsonb),
 (2, 'a', '', ARRAY['btn','btn-secondary'], '{"href":"/signup?plan=pro"}'::jsonb,
  '[{"tag":"div","classes":["card-footer"]},{"tag":"div","classes":["card","plan-card"],"attrs":{"data-plan":"pro"}},
    {"tag":"div","classes":["row","g-4"]},{"tag":"section","id":"pricing","classes":["py-5"]},{"tag":"main","id":"content"},
    {"tag":"body","classes":["page"]},{"tag":"html","attrs":{"lang":"en"}}]'::jsonb),
 (3, 'span', '', ARRAY['label'], '{}'::jsonb,
  '[{"tag":"button","classes":["btn","btn-primary","btn-lg"],"attrs":{"type":"button"}},{"tag":"div","classes":["hero-cta"]},
    {"tag":"section","classes":["hero"]},{"tag":"main","id":"content"},{"tag":"body","classes":["page"]},
    {"tag":"html","attrs":{"lang":"en"}}]'::jsonb),
 (4, 'input', 'email', ARRAY['form-control'], '{"type":"email","name":"email","placeholder":"you@example.com"}'::jsonb,
  '[{"tag":"div","classes":["form-group","mb-3"]},{"tag":"form","id":"signup","attrs":{"method":"post","action":"/signup"}},
    {"tag":"div","classes":["container","mx-auto"]},{"tag":"main","id":"content"},{"tag":"body","classes":["page"]},
    {"tag":"html","attrs":{"lang":"en"}}]'::jsonb)
), picked AS (
  SELECT g, (g %% 5) AS shape, CASE WHEN g %% 10 < 4 THEN 'pageview' WHEN g %% 10 < 9 THEN 'click' ELSE 'change' END AS type,
         now() - (g %% 2592000) * interval '1 second' AS time, 'x' || (g %% 7) AS extra
  FROM generate_series(1, %(events)s) AS g
)
INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type, event_name,
  domain, path, query, hash, title, referrer, target_tag, target_id, target_classes, target_text, target_href,
  hierarchy, library, properties)
SELECT %(env)s, 'bench-' || g, g %% 50000, g %% 200000, p.time, p.time, p.type, '', 'shop.example',
  CASE s.n WHEN 2 THEN '/pricing' ELSE '/' END, '', '', 'Shop', '',
  CASE WHEN p.type = 'pageview' THEN '' ELSE s.tag END,
  CASE WHEN p.type = 'pageview' THEN '' ELSE s.id END,
  CASE WHEN p.type = 'pageview' THEN '{}'::text[] ELSE s.classes || p.extra END,
  CASE WHEN p.type = 'pageview' THEN '' ELSE 'Start trial' END, '',
  CASE WHEN p.type = 'pageview' THEN '[]'::jsonb ELSE
    jsonb_build_array(jsonb_strip_nulls(jsonb_build_object('tag', s.tag, 'id', NULLIF(s.id, ''),
      'classes', to_jsonb(s.classes || p.extra), 'attrs', NULLIF(s.attrs, '{}'::jsonb)))) || s.hierarchy END,
  'web', '{"plan":"pro"}'::jsonb
FROM picked p JOIN shapes s ON s.n = p.shape
"""


def best_of(runs: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--regenerate", action="store_true", help="rebuild the synthetic events even if present")
    parser.add_argument(
        "--environment", help="an environment seeded by seed_demo to preview instead (its events as they are)"
    )
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("preview")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import override_settings
    from django.utils import timezone

    from definitions import sql as definitions_sql
    from definitions.compiler import compile_definition
    from definitions.selectors import definition_preview
    from warehouse.models import Environment, Project, RawEvent

    call_command("migrate", verbosity=0)
    project, _ = Project.objects.get_or_create(name="bench")
    selectors = SELECTORS
    environment = Environment.objects.filter(warehouse_schema=args.environment or "bench_preview").first()
    if args.environment:
        if environment is None:
            raise SystemExit(f"no environment {args.environment!r} (seed it: manage.py seed_demo --environment ...)")
        selectors = DEMO_SELECTORS
    elif environment is None:
        environment = Environment(project=project, name="preview", warehouse_schema="bench_preview")
        environment.set_api_key("bench-preview-key")
        environment.save()
    have = RawEvent.objects.filter(environment=environment).count()
    if not args.environment and (have != args.events or args.regenerate):
        print(f"generating {args.events:,} events (had {have:,}) …", flush=True)
        started = time.perf_counter()
        with transaction.atomic():
            RawEvent.objects.filter(environment=environment).delete()
            with connection.cursor() as cursor:
                cursor.execute(GENERATE, {"events": args.events, "env": environment.pk})
        print(f"  generated in {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE raw_events")

    since = timezone.now() - timezone.timedelta(days=30)

    def count_all(seq_scan: bool = False):
        with transaction.atomic(), connection.cursor() as cursor:
            if seq_scan:
                cursor.execute("SET LOCAL enable_indexonlyscan = off")
                cursor.execute("SET LOCAL enable_indexscan = off")
                cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SELECT count(*) FROM raw_events e WHERE e.environment_id = %s", [environment.pk])
            return cursor.fetchone()[0]

    count_all()
    baseline, total = best_of(5, count_all)
    scan_baseline, _ = best_of(5, lambda: count_all(seq_scan=True))
    print(f"events in environment: {total:,}")
    print(f"baseline  count(*) as planned (index-only scan):  {baseline * 1000:8.1f} ms")
    print(f"baseline  count(*) as a sequential scan:          {scan_baseline * 1000:8.1f} ms")
    for label, selector in selectors.items():
        groups = [{"kind": "click", "conditions": [{"type": "selector", "value": selector}]}]
        predicate, params = compile_definition(groups, prefix="b_")

        def counts(predicate=predicate, params=params):
            return definitions_sql.daily_counts(
                environment_id=environment.pk, since=since, predicate=predicate, params=params
            )

        def sample(predicate=predicate, params=params):
            return definitions_sql.sample_events(
                environment_id=environment.pk, since=since, predicate=predicate, params=params, limit=20
            )

        counts()
        counts_time, rows = best_of(5, counts)
        sample_time, _ = best_of(5, sample)
        ratio, scan_ratio = counts_time / baseline, counts_time / scan_baseline
        # The target (issue 4, bench/RESULTS.md): at most 2x a plain count(*) that scans the same
        # rows, and under 0.5 s. The index-only count never reads the heap the preview must read.
        verdict = "OK" if scan_ratio <= TARGET_RATIO and counts_time < TARGET_SECONDS else "MISSED"
        print(f"preview ({label}) {selector!r}: {sum(r[1] for r in rows):,} matches")
        print(
            f"  per-day counts over 30 days: {counts_time * 1000:8.1f} ms  {ratio:.2f}x the planned count,"
            f" {scan_ratio:.2f}x the scan (target <= {TARGET_RATIO}x and < {TARGET_SECONDS * 1000:.0f} ms: {verdict})"
        )
        print(f"  sample of the 20 newest matches: {sample_time * 1000:8.1f} ms")
        # The whole preview as the editor gets it: exact, and estimated from the block sample a range above
        # RAW_ESTIMATE_ABOVE_EVENTS gets (forced here whatever the size).
        exact_time, exact = best_of(
            3, lambda groups=groups: definition_preview(environment=environment, groups=groups, exact=True)
        )
        with override_settings(RAW_ESTIMATE_ABOVE_EVENTS=0):
            estimate_time, estimate = best_of(
                3, lambda groups=groups: definition_preview(environment=environment, groups=groups)
            )
        error = abs(estimate.total - exact.total) / max(exact.total, 1)
        print(
            f"  whole preview: exact {exact_time * 1000:8.1f} ms; estimate from a {estimate.sample.percent_text} sample"
            f" {estimate_time * 1000:8.1f} ms, total {estimate.total:,} vs {exact.total:,} ({error:.1%} off)"
            " (target < 1000 ms at 20M events)"
        )
        report.figure(
            f"preview estimate, {label} selector ({estimate.sample.percent_text} sample, total {error:.1%} off)",
            estimate_time * 1000,
            "ms",
            baseline=exact_time * 1000,
            baseline_name="the exact preview",
            target="< 1000 ms at 20M events",
            met=estimate_time < 1.0,
            extra={"exact_ms": exact_time * 1000, "sample_percent": estimate.sample.percent, "total_error": error},
        )
        report.figure(
            f"preview per-day counts, {label} selector ({scan_ratio:.2f}x the seq scan)",
            counts_time * 1000,
            "ms",
            baseline=baseline * 1000,
            baseline_name="count(*) as planned",
            target=f"<= {TARGET_RATIO:g}x and < {TARGET_SECONDS * 1000:.0f} ms",
            met=verdict == "OK",
            extra={"seq_scan_baseline_ms": scan_baseline * 1000, "sample_ms": sample_time * 1000},
        )
    report.write(args.json)


if __name__ == "__main__":
    main()
