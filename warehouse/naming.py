"""Warehouse identifiers from names people chose (docs/architecture.md §4).

One set of rules for defined-event tables, property columns and uploaded-CSV columns:
lowercase; every run of other characters becomes `_`; a leading digit gets a `_` in front; at
most 63 bytes (longer names are cut and end in a short hash of the original); never a reserved
name; a name already taken gets `_2`, `_3`, … so every input keeps its own identifier.
"""

import hashlib
import re
from collections.abc import Iterable

MAX_IDENTIFIER_BYTES = 63
_OTHER = re.compile(r"[^a-z0-9]+")


def identifier_base(raw: str, *, empty: str = "column") -> str:
    """The identifier a name maps to before collisions are considered."""
    name = _OTHER.sub("_", raw.lower()).strip("_") or empty
    if name[0].isdigit():
        name = "_" + name
    if len(name) > MAX_IDENTIFIER_BYTES:
        digest = hashlib.sha1(raw.encode("utf-8")).hexdigest()[:8]  # noqa: S324 - a name, not security
        name = f"{name[: MAX_IDENTIFIER_BYTES - 9]}_{digest}"
    return name


def _with_suffix(base: str, number: int) -> str:
    suffix = f"_{number}"
    return base[: MAX_IDENTIFIER_BYTES - len(suffix)] + suffix


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
