"""Independent build statements side by side, on extra connections to the same database.

PostgreSQL runs no INSERT ... SELECT in parallel and builds one table at a time per connection, so
a sync on one connection uses one core however many the server has. The build splits its work
(the pass over the raw events in parts, the finished tables by table) into tasks that write
disjoint tables and runs them on SYNC_PARALLELISM connections, opened when first needed; the
apply transaction stays on the main connection. Every statement is autocommit and holds its
locks only while it runs, so tasks cannot deadlock one another.

Results come back to the calling thread (which alone reports progress and uses the ORM). If a
task fails, the statements still running are cancelled and the first error is raised. A killed
worker's connections end with it; `client_connection_check_interval` makes their backends stop
within a second instead of finishing a statement nobody waits for.
"""

import logging
import queue
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import TypeVar

from django.db import connection

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
Result = TypeVar("Result")


class Connections:
    """Up to `size` connections configured by `setup(cursor)`, opened on first use; with size 1 (or
    inside a transaction) the work runs on the caller's own cursor."""

    def __init__(self, *, cursor, size: int, setup: Callable) -> None:
        self.cursor = cursor
        self._setup = setup
        # Rows and tables of an open transaction are invisible to other connections: stay on this one.
        self.size = size if size > 1 and not connection.in_atomic_block else 1
        self._idle: queue.Queue = queue.Queue()
        self._all = []

    def _open(self) -> None:
        for _ in range(self.size - len(self._all)):
            raw = connection.get_new_connection(connection.get_connection_params())
            raw.autocommit = True
            self._all.append(raw)
            with raw.cursor() as extra:
                self._setup(extra)
            self._idle.put(raw)

    def map(self, work: Callable[[object, Item], Result], items: Iterable[Item]) -> Iterator[tuple[Item, Result]]:
        """work(cursor, item) for every item, (item, result) yielded as each finishes."""
        items = list(items)
        if self.size == 1 or len(items) < 2:
            for item in items:
                yield item, work(self.cursor, item)
            return
        self._open()

        def run(item):
            raw = self._idle.get()
            try:
                with raw.cursor() as cursor:
                    return work(cursor, item)
            finally:
                self._idle.put(raw)

        with ThreadPoolExecutor(max_workers=len(self._all), thread_name_prefix="sync-build") as pool:
            pending = {pool.submit(run, item): item for item in items}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_EXCEPTION)
                    for future in done:
                        item = pending.pop(future)
                        yield item, future.result()
            except BaseException:
                for future in pending:
                    future.cancel()
                for raw in self._all:
                    raw.cancel()
                raise

    def close(self) -> None:
        for raw in self._all:
            try:
                raw.close()
            except Exception:
                logger.exception("could not close a sync build connection")
        self._all = []
