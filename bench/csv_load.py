"""CSV upload: `load_csv` of a large file next to a bare COPY of the same file, and the loader's peak memory.

    python bench/csv_load.py [--rows 1000000]

Uses DATABASE_URL (or the embedded PostgreSQL); creates the environment bench_csv if missing.
"""

import argparse
import os
import random
import resource
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

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "accounts.csv"
        write_csv(path, args.rows)
        size_mb = path.stat().st_size / 1e6

        started = time.perf_counter()
        with connection.cursor() as cursor, path.open("rb") as source:
            cursor.execute("CREATE TEMP TABLE bench_copy (a text, b text, c text, d text, e text, f text, g text)")
            cursor.cursor.copy_expert("COPY bench_copy FROM STDIN WITH (FORMAT csv, HEADER true)", source)
            cursor.execute("DROP TABLE bench_copy")
        baseline = time.perf_counter() - started

        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "load_csv",
                "bench_csv",
                str(path),
                "--table",
                "accounts",
                "--replace",
            ],
            check=True,
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        loaded = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    print(f"file: {args.rows} rows, {size_mb:.0f} MB")
    print(f"baseline COPY into a text table: {baseline:.2f} s")
    print(
        f"load_csv (stage + infer + typed table): {loaded:.2f} s  ratio {loaded / baseline:.2f}x (target <= {TARGET_RATIO}x)"
    )
    print(f"load_csv peak memory: {peak_mb:.0f} MB (target < {TARGET_PEAK_MB} MB, independent of file size)")
    report.figure(
        f"load_csv {args.rows:,} rows ({size_mb:.0f} MB)",
        loaded,
        "s",
        baseline=baseline,
        baseline_name="COPY into a text table",
        target=f"<= {TARGET_RATIO:g}x baseline",
        met=loaded / baseline <= TARGET_RATIO,
    )
    report.figure("load_csv peak memory", peak_mb, "MB", target=f"< {TARGET_PEAK_MB} MB", met=peak_mb < TARGET_PEAK_MB)
    report.write(args.json)


if __name__ == "__main__":
    main()
