"""Importing a definitions document: the cost per definition as the document grows.

    python bench/definitions_import.py [--definitions 2000] [--repeat 3]

Imports a generated document (selectors on clicks, page paths, and every third definition a combo
of the two before it: what a team's export of hundreds of definitions holds) into a fresh
environment: --definitions of them, and as the baseline in the same run a tenth as many. Both are
shown per definition; their ratio is how the cost grows with the document (1.0x: linear).
Target: <= 1.5x. Before each save stopped reloading every definition (to find the combos that
include it) and queuing a sync of its own: 2,000 in 91.4 s, 3.95x (load 1.9); after: 21.5 s,
1.31x (load 1.3); both --repeat 1, 2026-12-08 00:45-00:51 UTC.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from _report import Report, add_json_argument

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

TARGET = 1.5


def document(count: int) -> dict:
    items = []
    for number in range(count):
        if number % 3 == 0:
            groups = [{"kind": "click", "conditions": [{"type": "selector", "value": f"#plan-{number} button.cta"}]}]
        elif number % 3 == 1:
            groups = [{"kind": "pageview", "conditions": [{"type": "path", "value": f"/docs/{number}/*"}]}]
        else:
            groups = [{"kind": "combo", "definitions": [f"Definition {number - 1}", f"Definition {number - 2}"]}]
        items.append({"name": f"Definition {number}", "groups": groups})
    return {"format": "heapsite-definitions/1", "definitions": items}


def timed_import(count: int, run: int) -> float:
    """Seconds to import `count` definitions into a new environment (deleted afterwards)."""
    from definitions.portability import definitions_import
    from heapsite.services import environment_create, environment_delete

    environment, _ = environment_create(project_name="benchimport", name=f"n{count}r{run}")
    try:
        started = time.perf_counter()
        definitions_import(environment=environment, document=document(count))
        return time.perf_counter() - started
    finally:
        environment_delete(environment=environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--definitions", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    add_json_argument(parser)
    args = parser.parse_args()
    import django

    django.setup()
    report = Report("definitions_import")
    small = max(1, args.definitions // 10)
    per = {}
    for count in (small, args.definitions):
        runs = [timed_import(count, run) for run in range(args.repeat)]
        per[count] = statistics.median(runs) / count * 1000
        print(f"{count:>6,} definitions: median {statistics.median(runs):.2f} s ({per[count]:.2f} ms per definition)")
    ratio = per[args.definitions] / per[small]
    met = ratio <= TARGET
    print(
        f"{args.definitions:,} vs {small:,} definitions, per definition: {ratio:.2f}x (target <= {TARGET}x: "
        f"{'met' if met else 'missed'}); load average {os.getloadavg()[0]:.1f}"
    )
    report.figure(
        f"import of {args.definitions:,} definitions, per definition",
        per[args.definitions],
        "ms",
        baseline=per[small],
        baseline_name=f"import of {small:,}, per definition",
        target=f"<= {TARGET}x",
        met=met,
    )
    report.write(args.json)


if __name__ == "__main__":
    main()
