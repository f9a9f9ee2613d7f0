"""What can go wrong in a sync, and whose fault it is: one table's, or the run's.

A statement that fails because of what one table computes (its predicate, a cast of its data, a
limit it hits, its time budget) is that table's failure: the run builds again without it, and
the table keeps its last good version (docs/warehouse.md, "Isolation"). A lost connection or a
server that stops is everyone's: the run fails, and the next one starts over.
"""

from dataclasses import dataclass

import psycopg2
import psycopg2.errors
from django.db import utils as django_db

# SQLSTATEs of a connection that is gone or going (class 08: connection exception; admin shutdown,
# crash shutdown, cannot connect now), whatever statement was running.
_CONNECTION_STATES = ("08", "57P01", "57P02", "57P03")


@dataclass(frozen=True)
class TableFailure:
    """A table the run could not build: it keeps its last good version (or stays absent)."""

    key: str
    table_name: str
    label: str
    error: str

    def as_dict(self) -> dict:
        return {"table": self.table_name, "label": self.label, "error": self.error}


class TablesFailed(Exception):  # noqa: N818 - a signal to the engine, named for what happened
    """Some tables' statements failed on their own: {table key: error message}. The run builds again without them."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {error}" for key, error in errors.items()))
        self.errors = errors


def _database_error(error: BaseException) -> BaseException:
    """The psycopg2 error under Django's wrapper, if any."""
    if isinstance(error, django_db.Error) and isinstance(error.__cause__, psycopg2.Error):
        return error.__cause__
    return error


def connection_lost(error: BaseException) -> bool:
    """Whether `error` means the database connection is gone (not a failed statement on a live one)."""
    cause = _database_error(error)
    if isinstance(cause, psycopg2.InterfaceError) or isinstance(error, django_db.InterfaceError):
        return True
    if isinstance(cause, psycopg2.OperationalError):
        code = cause.pgcode or ""
        return not code or code.startswith(_CONNECTION_STATES)
    return False


def error_message(error: BaseException) -> str:
    """One line for the sync page and _sync_history: the error's class and PostgreSQL's first line."""
    cause = _database_error(error)
    text = str(getattr(cause, "pgerror", None) or cause).strip().splitlines()
    first = text[0] if text else ""
    if first.startswith("ERROR:"):
        first = first[len("ERROR:") :].strip()
    query = getattr(getattr(cause, "cursor", None), "query", None)
    if isinstance(cause, psycopg2.errors.QueryCanceled) and query:  # which statement ran out of time
        first += f" (statement: {query.decode(errors='replace')[:300]})"
    return f"{type(cause).__name__}: {first}"[:1000]
