"""How full-sync time grows with history: a full sync at N/10, N and 5N raw events (20 definitions).

    python bench/sync_scale.py [--events 1000000] [--sizes 100000,1000000,5000000] [--definitions 20] [--repeat 3]

Uses bench/sync.py's data generator, definitions and timing: one environment per size
(`bench2_sync` for N itself, shared with bench/sync.py; `bench2_sync100k`, `bench2_sync5m`, ...),
filled once and reused. Per size: the baseline `CREATE TABLE ... AS SELECT *` of that
environment's raw events and a full sync, interleaved --repeat times in the same run; medians
reported. Each full sync runs in a process of its own, as a worker runs it, whose peak RSS is
reported (target: flat in N). Targets (issue 24): full sync <= 3x the baseline at N and above
(below N a run's fixed cost, the DDL of 20+ tables, its connections and the swap, about half a
second, dominates: reported only); from the second-largest to the largest size the full sync's
growth factor <= 1.2x the baseline's, i.e. cost grows with history as copying it does (the ratio
of the added seconds is printed too);
and at the largest size an incremental sync after +0.1% events <= 2% of the full sync.
"""

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

HERE = Path(__file__).resolve().parent
TARGET_RATIO = 3.0
GROWTH_RATIO = 1.2
# The incremental sync at the largest size: after this share of new events, at most INCREMENTAL_SHARE of full.
INCREMENTAL_ADDED, INCREMENTAL_SHARE = 0.001, 0.02


def load_sync_bench():
    spec = importlib.util.spec_from_file_location("bench_sync", HERE / "sync.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def environment_name(events: int, main_size: int) -> str:
    if events == main_size:
        return "sync"
    if events % 1_000_000 == 0:
        return f"sync{events // 1_000_000}m"
    if events % 1000 == 0:
        return f"sync{events // 1000}k"
    return f"sync{events}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000, help="N: sizes default to N/10, N, 5N")
    parser.add_argument("--sizes", help="comma-separated event counts instead of N/10, N, 5N")
    parser.add_argument("--definitions", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3, help="measurements per size (the median is reported)")
    add_json_argument(parser)
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else [args.events // 10, args.events, args.events * 5]
    report = Report("sync_scale")
    sync_bench = load_sync_bench()
    sync_bench._state["count"] = args.definitions
    print(f"full sync with {args.definitions} definitions at {', '.join(f'{n:,}' for n in sizes)} raw events")
    measured = []  # (events, baseline, full sync) per size
    for size in sizes:
        sync_bench.ENVIRONMENT = environment_name(size, args.events)
        env = sync_bench.environment()
        started = time.monotonic()
        sync_bench.ensure_data(env, size)
        with sync_bench.connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM raw_events WHERE environment_id = %s", [env.id])
            total = cursor.fetchone()[0]
        prepared = time.monotonic() - started
        load = os.getloadavg()[0]
        bases, fulls, peaks = [], [], []
        for _ in range(args.repeat):  # interleaved, so both see the same noise; medians reported
            bases.append(sync_bench.baseline(env))
            seconds, rows, peak = sync_bench.full_sync_in_child(args.definitions)
            fulls.append(seconds)
            peaks.append(peak)
        base, full, peak = statistics.median(bases), statistics.median(fulls), max(peaks)
        measured.append((total, base, full))
        ratio = full / base
        targeted = size >= args.events  # below N a run's fixed cost dominates: reported, not targeted
        verdict = ("OK" if ratio <= TARGET_RATIO else "MISSED") if targeted else "fixed costs dominate: no target"
        print(
            f"{total:>10,} events ({env.warehouse_schema}, data ready in {prepared:.0f} s, load {load:.1f}): "
            f"baseline {base:7.2f} s  full sync {full:7.2f} s ({rows:,} rows) = {ratio:5.2f}x "
            f"(target <= {TARGET_RATIO:g}x: {verdict}); worker peak RSS {peak:.0f} MB",
            flush=True,
        )
        report.figure(
            f"full sync, {args.definitions} definitions, {total:,} events (load {load:.1f})",
            full,
            "s",
            baseline=base,
            baseline_name="CREATE TABLE AS SELECT * (raw events)",
            target=f"<= {TARGET_RATIO:g}x baseline" if targeted else "",
            met=ratio <= TARGET_RATIO if targeted else None,
            extra={
                "events": total,
                "rows": rows,
                "load": load,
                "baseline_samples": bases,
                "full_samples": fulls,
                "peak_rss_mb": peak,
            },
        )
        report.point("full sync seconds by events", total, full)
        report.point("baseline seconds by events", total, base)
        report.point("sync worker peak RSS MB by events", total, peak)
    # The incremental sync at the largest size, right after its full syncs: +0.1% events.
    added = max(1, round(total * INCREMENTAL_ADDED))
    load = os.getloadavg()[0]
    seconds, incremental_rows = sync_bench.incremental_after(env, last=total, added=added)
    share = seconds / full
    met = share <= INCREMENTAL_SHARE
    print(
        f"incremental after +{INCREMENTAL_ADDED:.1%} ({added:,} events, {incremental_rows:,} rows, load {load:.1f}): "
        f"{seconds:.2f} s = {share:.2%} of full (target <= {INCREMENTAL_SHARE:.0%}: {'OK' if met else 'MISSED'})",
        flush=True,
    )
    report.figure(
        f"incremental sync after +{INCREMENTAL_ADDED:.1%} events at {total:,} (load {load:.1f})",
        seconds,
        "s",
        baseline=full,
        baseline_name="full sync",
        ratio_unit="%",
        target=f"<= {INCREMENTAL_SHARE:.0%} of full",
        met=met,
        extra={"added": added, "rows": incremental_rows, "load": load},
    )
    if len(measured) >= 2:
        # Growth as a factor: the full sync's time multiplied by no more than 1.2x what the baseline's was, i.e.
        # it grows with history as copying it does. The added seconds' ratio is printed too: a stricter
        # reading, which at large N asks the sync to cost no more than 1.2x a copy (the ratio target allows 3x).
        (small, small_base, small_full), (large, large_base, large_full) = measured[-2], measured[-1]
        factor, base_factor = large_full / small_full, large_base / small_base
        ratio = factor / base_factor
        added = (large_full - small_full) / (large_base - small_base) if large_base > small_base else float("inf")
        print(
            f"from {small:,} to {large:,} events: full sync x{factor:.2f}, baseline x{base_factor:.2f} = "
            f"{ratio:.2f}x (target <= {GROWTH_RATIO:g}x: {'OK' if ratio <= GROWTH_RATIO else 'MISSED'}); "
            f"added seconds +{large_full - small_full:.2f} vs +{large_base - small_base:.2f} = {added:.2f}x"
        )
        report.figure(
            f"full sync's growth from {small:,} to {large:,} events (x{factor:.2f}; added seconds {added:.2f}x the"
            " baseline's)",
            factor,
            "x",
            baseline=base_factor,
            baseline_name="the baseline's growth",
            target=f"<= {GROWTH_RATIO:g}x the baseline's",
            met=ratio <= GROWTH_RATIO,
            extra={"added_seconds_ratio": added},
        )
    report.write(args.json)


if __name__ == "__main__":
    sys.exit(main())
