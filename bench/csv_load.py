"""CSV upload: `load_csv` of a large file next to a plain COPY of the same file, and the loader's peak memory.

    python bench/csv_load.py [--rows 1000000] [--repeat 3]

Uses DATABASE_URL (or the embedded PostgreSQL); creates the environment bench_csv if missing. Each
round, in this order on the same file: a plain COPY into a temporary all-text table (no WAL, the
baseline the target is set against), a plain COPY into an ordinary all-text table (WAL-logged, as
the uploaded table is), and the upload in a fresh process (`manage.py load_csv`'s services: stage
with COPY and infer types on a sample, then the typed pass in the database), timed inside that
process (Django's start-up, ~1 s, is printed apart) with the process's peak RSS. Figures are
medians of --repeat rounds.
"""

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _report import Report, add_json_argument

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "heapsite.settings")

TARGET_RATIO = 3.0
TARGET_PEAK_MB = 200
CHILD = """
import json, os, resource, sys, time
started = time.perf_counter()
import django
django.setup()
from warehouse.models import Environment
from warehouse.sources.services import csv_load, csv_stage
ready = time.perf_counter()
environment = Environment.objects.get(warehouse_schema="bench_csv")
path = sys.argv[1]
with open(path, "rb") as fileobj:
    upload = csv_stage(environment=environment, fileobj=fileobj, filename="accounts.csv", size=os.path.getsize(path))
staged = time.perf_counter()
upload = csv_load(upload=upload, table_name="accounts", replace=True)
done = time.perf_counter()
print(json.dumps({
    "startup": ready - started, "stage": staged - ready, "load": done - staged,
    "types": [column["type"] for column in upload.columns], "rows": upload.row_count,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}))
"""


def write_csv(path: Path, rows: int) -> None:
    rng = random.Random(7)
    plans = ["free", "pro", "team", "enterprise"]
    with path.open("w", encoding="utf-8") as out:
        out.write("Account ID,Email,Plan,MRR,Is Won,Closed At,Notes\n")
        for i in range(rows):
            note = '"called twice, ""very"" keen"' if i % 97 == 0 else '"multi\nline"' if i % 101 == 0 else "ok"
            out.write(
                f"{i},user{i}@example.com,{plans[i % 4]},{rng.randint(0, 50000) / 100},"
                f"{'true' if i % 3 else 'false'},2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:00:00Z,{note}\n"
            )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    add_json_argument(parser)
    args = parser.parse_args()
    report = Report("csv_load")

    from heapsite.embedded import ensure_services

    ensure_services()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from warehouse.models import Environment, Project

    call_command("migrate", verbosity=0)
    project, _ = Project.objects.get_or_create(name="bench")
    environment = Environment.objects.filter(warehouse_schema="bench_csv").first()
    if environment is None:
        environment = Environment(project=project, name="csv", warehouse_schema="bench_csv")
        environment.set_api_key("bench")
        environment.save()

    columns = "a text, b text, c text, d text, e text, f text, g text"
    rounds = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6
        for _ in range(args.repeat):
            timings = {}
            for name, create in (("temp", "CREATE TEMP TABLE"), ("logged", "CREATE TABLE")):
                with connection.cursor() as cursor, path.open("rb") as source:
                    cursor.execute(f"{create} bench_copy ({columns})")
                    started = time.perf_counter()
                    cursor.cursor.copy_expert("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)", source)
                    timings[name] = time.perf_counter() - started
                    cursor.execute("DROP TABLE bench_copy")
            child = subprocess.run(
                [sys.executable, "-c", CHILD, str(path)], check=True, cwd=ROOT, capture_output=True, text=True
            )
            timings.update(json.loads(child.stdout.strip().splitlines()[-1]))
            timings["upload"] = timings["stage"] + timings["load"]
            rounds.append(timings)
            print(
                f"round: COPY temp {timings['temp']:.2f} s, COPY logged {timings['logged']:.2f} s, upload "
                f"{timings['upload']:.2f} s (stage {timings['stage']:.2f} + typed pass {timings['load']:.2f}), "
                f"peak {timings['peak_mb']:.0f} MB",
                flush=True,
            )

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    baseline, logged, upload = median("temp"), median("logged"), median("upload")
    ratio = upload / baseline
    peak_mb = max(r["peak_mb"] for r in rounds)
    print(f"file: {args.rows:,} rows, {size_mb:.0f} MB; types {', '.join(rounds[-1]['types'])}")
    print(f"plain COPY into a temporary text table (baseline): {baseline:.2f} s")
    print(f"plain COPY into an ordinary text table (WAL-logged): {logged:.2f} s")
    print(
        f"upload (stage + infer on a sample + typed pass): {upload:.2f} s = {median('stage'):.2f} + "
        f"{median('load'):.2f} s; ratio {ratio:.2f}x the baseline (target <= {TARGET_RATIO:g}x: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'}), {upload / logged:.2f}x the logged COPY"
    )
    print(f"Django start-up of the loading process, not counted above: {median('startup'):.2f} s")
    print(f"peak RSS of the loading process: {peak_mb:.0f} MB (target < {TARGET_PEAK_MB} MB)")
    report.figure(
        f"CSV upload {args.rows:,} rows ({size_mb:.0f} MB)",
        upload,
        "s",
        baseline=baseline,
        baseline_name="COPY into a temporary text table",
        target=f"<= {TARGET_RATIO:g}x baseline",
        met=ratio <= TARGET_RATIO,
        extra={
            "copy_logged_s": round(logged, 2),
            "stage_s": round(median("stage"), 2),
            "load_s": round(median("load"), 2),
        },
    )
    report.figure("CSV upload peak RSS", peak_mb, "MB", target=f"< {TARGET_PEAK_MB} MB", met=peak_mb < TARGET_PEAK_MB)
    report.write(args.json)


if __name__ == "__main__":
    main()
