"""`make test-citus`: the Citus-relevant tests against a real 3-node Citus cluster on this machine.

Builds Citus for the machine's PostgreSQL 15 if it is missing (the provided build script, which
needs root), starts a coordinator and two workers (the provided cluster script) with their data
under var/citus, creates the test database on every node with the citus extension and the
workers registered, runs pytest against the coordinator, and stops the cluster. Citus itself is
not part of this repository: for real deployments see docs/scaling.md.

    python tests/citus/run.py --scripts ../shared/citus [--port 9700] -- [pytest arguments]
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
from psycopg2 import sql

REPO = Path(__file__).resolve().parents[2]
TEST_DATABASE = "test_heapsite_citus"
# Few shards per table: every warehouse table the sync builds is created on each of them, and two
# per worker already spread every table over both workers.
SHARD_COUNT = 4


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scripts", required=True, help="folder with the Citus build.sh and cluster.sh")
    parser.add_argument("--port", type=int, default=9700, help="coordinator port (workers: the next two)")
    parser.add_argument("--data", default=str(REPO / "var" / "citus"), help="the cluster's data directories")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    scripts = Path(args.scripts).resolve()
    started = time.monotonic()
    _build(scripts)
    print(f"== starting the Citus cluster in {args.data} (coordinator on port {args.port})", flush=True)
    subprocess.run([scripts / "cluster.sh", "start", args.data, str(args.port)], check=True)  # noqa: S603
    try:
        admin = f"postgres://postgres@127.0.0.1:{args.port}/postgres"
        prepare_database(admin, TEST_DATABASE)
        env = dict(os.environ, DATABASE_URL=admin, HEAPSITE_TEST_DB_NAME=TEST_DATABASE, HEAPSITE_EXPECT_CITUS="1")
        command = [sys.executable, "-m", "pytest", "--reuse-db", *args.pytest_args]
        print(f"== {' '.join(command[2:])} (against the coordinator)", flush=True)
        result = subprocess.run(command, cwd=REPO, env=env, check=False)  # noqa: S603
    finally:
        subprocess.run([scripts / "cluster.sh", "stop", args.data, str(args.port)], check=False)  # noqa: S603
    print(f"== test-citus finished in {time.monotonic() - started:.0f}s", flush=True)
    return result.returncode


def _build(scripts: Path) -> None:
    """Build and install Citus unless it is installed already (the build script checks that itself)."""
    pg_config = "/usr/lib/postgresql/15/bin/pg_config"
    if Path(pg_config).exists():
        libdir = subprocess.run([pg_config, "--pkglibdir"], capture_output=True, text=True, check=True).stdout  # noqa: S603
        if (Path(libdir.strip()) / "citus.so").exists():
            return
    if os.geteuid() != 0:
        sys.exit(f"test-citus: Citus is not installed and building it needs root: run sudo {scripts / 'build.sh'}")
    print("== building Citus (a few minutes, once)", flush=True)
    subprocess.run([scripts / "build.sh"], check=True)  # noqa: S603


def prepare_database(admin_url: str, name: str) -> None:
    """A fresh database `name` on the coordinator and on every worker registered in `admin_url`'s
    database, with the citus extension, the workers added and SHARD_COUNT shards per new table."""
    coordinator = psycopg2.connect(admin_url)
    coordinator.autocommit = True
    with coordinator.cursor() as cursor:
        cursor.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 ORDER BY nodeport")
        workers = cursor.fetchall()
        cursor.execute("SELECT inet_server_port()")
        port = cursor.fetchone()[0]
    coordinator.close()
    if not workers:
        sys.exit("test-citus: the coordinator has no workers registered")
    database = sql.Identifier(name)
    for host, node_port in [("127.0.0.1", port), *workers]:
        _run(
            host,
            node_port,
            "postgres",
            [
                (sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database), None),
                (sql.SQL("CREATE DATABASE {}").format(database), None),
            ],
        )
        _run(host, node_port, name, [(sql.SQL("CREATE EXTENSION citus"), None)])
    _run(
        "127.0.0.1",
        port,
        name,
        [(sql.SQL("SELECT citus_set_coordinator_host('127.0.0.1', %s)"), [port])]
        + [(sql.SQL("SELECT citus_add_node(%s, %s)"), list(worker)) for worker in workers]
        + [(sql.SQL("ALTER DATABASE {} SET citus.shard_count = {}").format(database, sql.Literal(SHARD_COUNT)), None)],
    )


def _run(host: str, port: int, database: str, statements: list) -> None:
    conn = psycopg2.connect(host=host, port=port, dbname=database, user="postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        for statement, params in statements:
            cursor.execute(statement, params)
    conn.close()


if __name__ == "__main__":
    sys.exit(main())
