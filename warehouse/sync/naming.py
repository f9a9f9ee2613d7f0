"""Warehouse identifiers from free-form names (DESIGN.md §4), shared by table and column naming.

Rules, in order: lowercase; every run of characters other than a-z and 0-9 becomes one "_"; a
leading digit gets a "_" prefix; an empty result becomes "_"; longer than 63 bytes is cut to 54
and gets "_" plus 8 hex digits of the original's SHA-1. A name equal to a reserved (built-in) name
gets the suffix "_prop"; when two names still collide, the one whose original sorts later gets "_"
plus 8 hex digits of its original's SHA-1 (cut to fit 63 bytes). Nothing is dropped.
"""

import hashlib
import re

MAX_IDENTIFIER_BYTES = 63
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _short_hash(original: str) -> str:
    return hashlib.sha1(original.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - a name, not security


def warehouse_identifier(original: str) -> str:
    name = _NON_ALNUM.sub("_", original.lower())
    if not name:
        name = "_"
    if name[0].isdigit():
        name = "_" + name
    if len(name) > MAX_IDENTIFIER_BYTES:
        name = name[:54] + "_" + _short_hash(original)
    return name


def column_names_for(originals: list[str], reserved: set[str]) -> dict[str, str]:
    """Map each original property name to a unique column name that avoids the reserved names."""
    names: dict[str, str] = {}
    taken = set(reserved)
    for original in sorted(originals):
        name = warehouse_identifier(original)
        if name in reserved:
            name = name[: MAX_IDENTIFIER_BYTES - 5] + "_prop"
        if name in taken:
            name = name[: MAX_IDENTIFIER_BYTES - 9] + "_" + _short_hash(original)
        while name in taken:  # a hash collision: extend deterministically
            name = name[: MAX_IDENTIFIER_BYTES - 9] + "_" + _short_hash(name)
        taken.add(name)
        names[original] = name
    return names
