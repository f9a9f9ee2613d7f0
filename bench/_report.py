"""Machine-readable benchmark figures: each bench/<name>.py writes them with `--json PATH`.

A benchmark keeps printing its own lines; next to each print it also calls `report.figure(...)`,
and at the end `report.write(args.json)`. `bench/run_all.py` collects the files into
`bench/RESULTS.md` and the charts. Not a benchmark itself (the leading underscore).
"""

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path


def add_json_argument(parser) -> None:
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON to PATH (for bench/run_all.py)")


class Report:
    def __init__(self, bench: str) -> None:
        self.bench = bench
        self.figures: list[dict] = []
        self.series: dict[str, list[list[float]]] = {}
        self.notes: list[str] = []
        self.started = time.time()
        self.load_at_start = os.getloadavg()

    def figure(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        baseline: float | None = None,
        baseline_name: str = "",
        ratio: float | None = None,
        ratio_unit: str = "x",
        target: str = "",
        met: bool | None = None,
        extra: dict | None = None,
    ) -> None:
        """One figure; `ratio` defaults to value / baseline, shown with `ratio_unit` ("x" or "%").

        `extra` holds further numbers of the same case (e.g. the deep page next to the first page).
        """
        if ratio is None and baseline:
            ratio = value / baseline
        self.figures.append(
            {
                "name": name,
                "value": value,
                "unit": unit,
                "baseline": baseline,
                "baseline_name": baseline_name,
                "ratio": ratio,
                "ratio_unit": ratio_unit,
                "target": target,
                "met": met,
                "extra": extra or {},
            }
        )

    def point(self, series: str, x: float, y: float) -> None:
        """A point of a chart series (e.g. sync seconds against the number of definitions)."""
        self.series.setdefault(series, []).append([x, y])

    def note(self, text: str) -> None:
        self.notes.append(text)

    def write(self, path: str | None) -> None:
        if not path:
            return
        data = {
            "bench": self.bench,
            "command": " ".join(["python", *sys.argv]),
            "started": datetime.fromtimestamp(self.started, UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "seconds": round(time.time() - self.started, 1),
            "load_at_start": [round(x, 2) for x in self.load_at_start],
            "load_at_end": [round(x, 2) for x in os.getloadavg()],
            "cores": os.cpu_count(),
            "figures": self.figures,
            "series": self.series,
            "notes": self.notes,
        }
        Path(path).write_text(json.dumps(data, indent=2) + "\n")
