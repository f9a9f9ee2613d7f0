"""The batch watermark never skips a committed raw row, however ingestion transactions interleave."""

import random
import threading
import time

import psycopg2
import pytest
from django.db import connection, connections

from warehouse.sync.watermark import watermark_bound

pytestmark = pytest.mark.django_db(transaction=True)

INSERT = (
    "INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type, event_name,"
    " domain, path, query, hash, title, referrer, target_tag, target_id, target_classes, target_text, target_href,"
    " hierarchy, library, properties) VALUES (%s, %s, %s, 1, now(), now(), 'pageview', '', '', '', '', '', '', '',"
    " '', '', '{}', '', '', '[]', '', '{}') RETURNING id, batch"
)
# BATCH_LOCKS of the migration raw_store_batches_and_citus: the gate a writer holds before it
# takes its number.
GATE = 0x4853 << 48


@pytest.fixture
def connect():
    """Open writer connections, closed (rolling back what is left) even when the test fails."""
    opened = []

    def open_one():
        opened.append(psycopg2.connect(**connection.get_connection_params()))
        return opened[-1]

    yield open_one
    for conn in opened:
        conn.close()


def bound() -> int:
    with connection.cursor() as cursor:
        return watermark_bound(cursor)[0]


def in_thread(work):
    """Run work() in a thread of its own (with its own database connection, closed at the end)."""

    def run():
        try:
            work()
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def read(environment_id: int, since: int, until: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM raw_events WHERE environment_id = %s AND batch >= %s AND batch < %s",
            [environment_id, since, until],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_batch_committed_after_a_later_one_holds_the_bound_back(environment, connect):
    slow, fast = connect(), connect()
    with slow.cursor() as cursor:
        cursor.execute(INSERT, [environment.id, "slow", 1])
        slow_id, slow_batch = cursor.fetchone()
    with fast.cursor() as cursor:
        cursor.execute(INSERT, [environment.id, "fast", 2])
        fast_id, fast_batch = cursor.fetchone()
    fast.commit()
    assert slow_batch < fast_batch
    first = bound()
    assert first <= slow_batch  # the fast one is committed, but read only with the slow one
    assert read(environment.id, 0, first) == []
    slow.commit()
    second = bound()
    assert second > fast_batch
    assert sorted(read(environment.id, first, second)) == sorted([slow_id, fast_id])


def test_a_writer_between_its_gate_and_its_number_is_waited_for(environment, connect):
    """The gap inside heapsite_raw_batch(): a number taken but not yet locked must not be passed over."""
    writer = connect()
    with writer.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [GATE])
        cursor.execute("SELECT nextval('raw_batch_seq')")
        taken = cursor.fetchone()[0]
    result = {}
    reader = in_thread(lambda: result.setdefault("bound", bound()))
    reader.join(0.3)
    try:
        assert reader.is_alive(), "the bound was computed while a writer held a number it had not locked"
        with writer.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s + %s)", [GATE, taken])
    finally:
        reader.join(5)
    assert result["bound"] == taken


def test_a_rolled_back_savepoint_gives_its_batch_back(environment, connect):
    writer = connect()
    with writer.cursor() as cursor:
        cursor.execute("SAVEPOINT a")
        cursor.execute(INSERT, [environment.id, "undone", 1])
        undone = cursor.fetchone()[1]
        cursor.execute("ROLLBACK TO SAVEPOINT a")
        cursor.execute(INSERT, [environment.id, "kept", 1])
        kept_id, kept = cursor.fetchone()
    assert kept > undone
    assert bound() == kept  # the undone batch is no longer in flight; the kept one is
    writer.commit()
    assert read(environment.id, kept, bound()) == [kept_id]


def test_concurrent_writers_committing_out_of_order_lose_nothing(environment, connect):
    """Writers hold their transactions open for random times and commit or roll back; a reader that
    moves the watermark as the sync does reads every committed row exactly once."""
    writers, per_writer = 6, 15
    committed: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def write(number: int) -> None:
        rng = random.Random(number)
        conn = connect()
        for i in range(per_writer):
            with conn.cursor() as cursor:
                for j in range(rng.randint(1, 3)):
                    cursor.execute(INSERT, [environment.id, f"w{number}-{i}-{j}", number])
                    row_id = cursor.fetchone()[0]
                    with lock:
                        pending.setdefault((number, i), []).append(row_id)
            time.sleep(rng.uniform(0, 0.03))
            if rng.random() < 0.2:
                conn.rollback()
            else:
                conn.commit()
                with lock:
                    committed.extend(pending[(number, i)])

    pending: dict = {}
    threads = [threading.Thread(target=write, args=(n,)) for n in range(1, writers + 1)]
    for thread in threads:
        thread.start()
    seen: list[int] = []
    since = 0

    def reader() -> None:
        nonlocal since
        while not done.is_set():
            until = bound()
            seen.extend(read(environment.id, since, until))
            since = until
            time.sleep(0.005)

    reading = in_thread(reader)
    for thread in threads:
        thread.join()
    done.set()
    reading.join()
    until = bound()
    seen.extend(read(environment.id, since, until))
    assert len(committed) > 50
    assert sorted(seen) == sorted(committed)
