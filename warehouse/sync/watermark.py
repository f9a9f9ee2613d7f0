"""The sync's watermark: the batch number below which no raw row can still appear or change.

Every ingestion transaction writes its rows under one batch number (`heapsite_raw_batch()`, from
the migration raw_store_batches_and_citus): it takes a shared "gate" advisory lock, then the next
number of raw_batch_seq, then an exclusive advisory lock on that number, and holds both until it
commits or rolls back (or its connection dies). Numbers are handed out in call order but
transactions commit in any order, so "the highest number committed" is no watermark: batch 7 may
commit while 6 is still being written. The bound is instead

    min(S, every batch still locked),  S = a number this function takes after the others

and a row with batch < bound is final. Why: a writer with batch b < S took b before S was taken,
and took the gate before b. When the locks are read (after S), it either has finished (its
locks are released only once its commit is visible) or still holds the gate; then it also holds
b's lock (so bound <= b) or is between the two calls: the read is repeated until each such
writer has shown its number or finished. Writers that start later get numbers above S. Rows
with batch >= bound are read by the next run, which starts from this bound.

It is the same on plain PostgreSQL and on Citus: the sequence and the locks live on the node the
app connects to (the coordinator), whatever node a row is stored on. On Citus a transaction that
spans nodes commits on the workers before the coordinator releases its locks; only if a worker
could not be told to commit (a node failure mid-commit) would its rows show later, so the sync
first has Citus finish such transactions (`recover_prepared_transactions()`; where the app's user
may not, Citus's own daemon does within a minute, and a run in between could miss such rows).
"""

import logging
import time
from datetime import datetime

from django.db import ProgrammingError, transaction
from psycopg2 import errors

from warehouse.citus import citus_active
from warehouse.sql import sync as q

logger = logging.getLogger(__name__)

# A writer is between its gate and its number for microseconds; this only bounds a stuck one.
_GATE_WAIT_SECONDS = 10.0


def watermark_bound(cursor) -> tuple[int, datetime]:
    """(bound, now): raw rows of batches below the bound are final (see the module docstring)."""
    cursor.execute("SELECT nextval('raw_batch_seq'), now()")
    bound, now = cursor.fetchone()
    waiting: set[str] | None = None
    deadline = time.monotonic() + _GATE_WAIT_SECONDS
    while True:
        cursor.execute(q.raw_batches_held())
        held: dict[str, set[int]] = {}
        for writer, batch in cursor.fetchall():
            held.setdefault(writer, set()).add(batch)
        # A batch seen in flight once lowers the bound even if it finished since: only ever safe.
        bound = min([bound, *(batch for batches in held.values() for batch in batches if batch > 0)])
        between = {writer for writer, batches in held.items() if batches == {0}}
        waiting = between if waiting is None else waiting & between
        if not waiting:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"raw-store writers {sorted(waiting)} hold the batch gate without a batch number for "
                f"{_GATE_WAIT_SECONDS:.0f}s; the sync cannot tell which raw rows are final"
            )
        time.sleep(0.001)
    if citus_active():
        _finish_in_doubt_transactions(cursor)
    return bound, now


def _finish_in_doubt_transactions(cursor) -> None:
    """Have Citus finish in-doubt transactions now; without the right to (a user that is not a
    superuser), its maintenance daemon does every citus.recover_2pc_interval (a minute by default)."""
    try:
        with transaction.atomic():  # a savepoint: a refusal leaves a caller's transaction usable
            cursor.execute("SELECT recover_prepared_transactions()")
            recovered = cursor.fetchone()[0]
    except ProgrammingError as error:
        if not isinstance(error.__cause__, errors.InsufficientPrivilege):
            raise
        logger.warning("the app's database user may not run recover_prepared_transactions(); Citus's daemon will")
        return
    if recovered:
        logger.warning("the sync finished %s in-doubt Citus transactions before reading raw rows", recovered)
