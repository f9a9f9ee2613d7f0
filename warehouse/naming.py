"""Warehouse identifiers from names people chose (docs/architecture.md §4, docs/warehouse.md "Table and column names").

One set of rules for every table and column the warehouse makes from a name: defined events'
tables, tables of events logged via the API, property columns and uploaded CSVs' tables and
columns. Non-ASCII letters are transliterated (anyascii: "Größe" -> "Grosse", "注册" -> "ZhuCe");
lowercase; every run of other characters becomes `_`; a leading digit gets a `_` in front; a word
PostgreSQL reserves (pg_get_keywords(), read from the server at run time) gets a `_` after it, so
every name works unquoted (`SELECT count(*) FROM order_`); at most 63 bytes (longer names are cut
and end in a short hash of the original); never a name the caller reserves (built-in tables or
columns); a name already taken gets `_2`, `_3`, … so every input keeps its own identifier.

Names are computed once and stored by their owners (a definition, an API event, a table's
columns): changing these rules never renames what exists.
"""

import functools
import hashlib
import re
from collections.abc import Iterable

from anyascii import anyascii
from django.db import connection

MAX_IDENTIFIER_BYTES = 63
# The warehouse contract's own tables (DESIGN.md §4): no event table is ever named like one.
BUILTIN_TABLE_NAMES = frozenset(
    {"users", "sessions", "pageviews", "all_events", "user_migrations", "_sync_info", "_sync_history"}
)
_OTHER = re.compile(r"[^a-z0-9]+")
# pg_get_keywords() categories that cannot name a table or column unquoted: "reserved" (R) and
# "reserved (can be function or type name)" (T). The others (U, C) work unquoted as both.
_RESERVED_CATEGORIES = ("R", "T")


@functools.cache
def reserved_words() -> frozenset[str]:
    """The words the PostgreSQL server reserves, read once per process (they change only with its version)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM pg_get_keywords() WHERE catcode = ANY(%s)", [list(_RESERVED_CATEGORIES)])
        return frozenset(word for (word,) in cursor.fetchall())


def identifier_base(raw: str, *, empty: str = "column") -> str:
    """The identifier a name maps to before collisions are considered."""
    name = _OTHER.sub("_", anyascii(raw).lower()).strip("_") or empty
    if name[0].isdigit():
        name = "_" + name
    if len(name) > MAX_IDENTIFIER_BYTES:
        digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - a name, not security
        name = f"{name[: MAX_IDENTIFIER_BYTES - 9]}_{digest}"
    elif name in reserved_words():
        name += "_"
    return name


def _with_suffix(base: str, number: int) -> str:
    suffix = f"_{number}"
    return base[: MAX_IDENTIFIER_BYTES - len(suffix)].rstrip("_") + suffix


def unique_identifier(raw: str, *, taken: set[str], reserved: Iterable[str] = (), empty: str = "column") -> str:
    """A free identifier for `raw`, added to `taken`. Deterministic for the same order of calls."""
    blocked = taken | set(reserved)
    base = identifier_base(raw, empty=empty)
    name, number = base, 1
    while name in blocked:
        number += 1
        name = _with_suffix(base, number)
    taken.add(name)
    return name


def unique_identifiers(raws: Iterable[str], *, reserved: Iterable[str] = (), empty: str = "column") -> list[str]:
    taken: set[str] = set()
    return [unique_identifier(raw, taken=taken, reserved=reserved, empty=empty) for raw in raws]
