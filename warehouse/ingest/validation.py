"""A small declarative validator for ingestion payloads.

A payload shape is described once with the specs below (see `payloads.py`); `validate` walks the
value, returns it cleaned (defaults filled in) and collects every problem as a (field, message)
pair, with the field written the way a client would point at it: `events[3].target.tag`.
"""

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# Stop collecting after this many problems: a hostile batch must not make a megabyte-long reply.
MAX_ERRORS = 50
_IDENTIFIER_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_$-]*$")
_MISSING = object()


# A path is built lazily as nested (parent, key) pairs and only spelled out for a problem:
# formatting every field's name up front would cost more than validating it.
Path = tuple | str


def path_text(path: Path) -> str:
    if isinstance(path, str):
        return path
    parent, key = path
    prefix = path_text(parent)
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return join_key(prefix, key)


class Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []
        self.count = 0

    def add(self, path: Path, message: str) -> None:
        self.count += 1
        if len(self.items) < MAX_ERRORS:
            self.items.append({"field": path_text(path) or "body", "message": message})

    def __bool__(self) -> bool:
        return self.count > 0


def join_key(path: str, key: str) -> str:
    shown = key if len(key) <= 64 else key[:61] + "..."
    if _IDENTIFIER_KEY.match(shown):
        return f"{path}.{shown}" if path else shown
    escaped = shown.replace("\\", "\\\\").replace('"', '\\"').replace("\x00", "\\u0000")
    return f'{path}["{escaped}"]'


_SURROGATE = re.compile("[\ud800-\udfff]")


def unstorable_character(value: str) -> tuple[int, str] | None:
    """The first character PostgreSQL cannot store in text or jsonb, as (index, what it is), or None.

    NUL (text and jsonb refuse it) and unpaired UTF-16 surrogates (JSON's "\\ud800": not UTF-8).
    """
    nul = value.find("\x00")
    surrogate = None if value.isascii() else _SURROGATE.search(value)
    if surrogate is not None and (nul < 0 or surrogate.start() < nul):
        return surrogate.start(), "an unpaired UTF-16 surrogate"
    if nul >= 0:
        return nul, "a NUL byte"
    return None


def text_problem(value: str) -> str | None:
    """Why a string cannot be stored (PostgreSQL text and jsonb refuse both), or None."""
    found = unstorable_character(value)
    return f"contains {found[1]}" if found else None


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


class Spec:
    nullable: bool = False

    def check(self, value: Any, path: Path, problems: Problems) -> Any:
        raise NotImplementedError

    def __call__(self, value: Any, path: Path, problems: Problems) -> Any:
        if value is None and self.nullable:
            return None
        return self.check(value, path, problems)


@dataclass
class Str(Spec):
    max_length: int = 1024
    min_length: int = 0
    choices: tuple[str, ...] = ()
    nullable: bool = False
    max_bytes: int | None = None  # in UTF-8, where an index holds the value (ASCII is within max_length)

    def __call__(self, value: Any, path: Path, problems: Problems) -> Any:
        # The common case in one expression: a well-formed ASCII string (most of every payload).
        if (
            type(value) is str
            and self.min_length <= len(value) <= self.max_length
            and (not self.choices or value in self.choices)
            and value.isascii()
            and "\x00" not in value
        ):
            return value
        if value is None and self.nullable:
            return None
        return self.check(value, path, problems)

    def check(self, value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, str):
            problems.add(path, f"must be a string, not {type_name(value)}")
            return None
        if len(value) > self.max_length:
            problems.add(path, f"is {len(value)} characters long; the limit is {self.max_length}")
        elif self.max_bytes is not None and (size := len(value.encode("utf-8", "surrogatepass"))) > self.max_bytes:
            problems.add(path, f"is {size:,} bytes in UTF-8; the limit is {self.max_bytes:,}")
        elif len(value) < self.min_length:
            problems.add(path, "must not be empty" if self.min_length == 1 else f"needs {self.min_length}+ characters")
        elif self.choices and value not in self.choices:
            problems.add(path, f"must be one of {', '.join(self.choices)}; got {value[:64]!r}")
        elif problem := text_problem(value):
            problems.add(path, problem)
        return value


@dataclass
class Int(Spec):
    minimum: int = -(2**63)
    maximum: int = 2**63 - 1
    nullable: bool = False

    def check(self, value: Any, path: Path, problems: Problems) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            problems.add(path, f"must be an integer, not {type_name(value)}")
            return None
        if not self.minimum <= value <= self.maximum:
            problems.add(path, f"must be between {self.minimum} and {self.maximum}")
        return value


@dataclass
class Bool(Spec):
    nullable: bool = False

    def check(self, value: Any, path: Path, problems: Problems) -> Any:
        if not isinstance(value, bool):
            problems.add(path, f"must be true or false, not {type_name(value)}")
        return value


# Timestamps outside this window are almost surely a bug (seconds sent as ms, a zeroed clock).
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_CLIENT_TIME = datetime(2100, 1, 1, tzinfo=UTC)
_EARLIEST_SECONDS = EARLIEST_TIME.timestamp()
_LATEST_SECONDS = LATEST_CLIENT_TIME.timestamp()


def within_window(seconds: float, *, received: float) -> float:
    """A clock-skew-corrected time kept where an uncorrected one must be: not before 2000-01-01, not
    after its receipt (a batch's `sent_at` far ahead of its events' times must not carry them back
    to 1926)."""
    return max(min(seconds, received), _EARLIEST_SECONDS)


@dataclass
class Timestamp(Spec):
    """Milliseconds since the epoch (a number) or, when `iso` is set, an ISO 8601 string too.

    Cleans to a float of seconds since the epoch. `max_ahead` (seconds) bounds how far past the
    server's clock a timestamp may lie; None means only the 2000..2100 sanity window applies.
    """

    iso: bool = False
    max_ahead: float | None = None
    nullable: bool = False

    def check(self, value: Any, path: Path, problems: Problems) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if isinstance(value, float) and not math.isfinite(value):
                problems.add(path, "must be a finite number")
                return None
            try:
                seconds = value / 1000
            except OverflowError:  # an integer of hundreds of digits: out of the window below
                seconds = math.inf if value > 0 else -math.inf
        elif self.iso and isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.replace("Z", "+00:00", 1) if value.endswith("Z") else value)
            except ValueError:
                problems.add(path, "is not an ISO 8601 timestamp (e.g. 2026-01-31T12:00:00Z)")
                return None
            if moment.tzinfo is None:
                problems.add(path, "needs a time zone (e.g. 2026-01-31T12:00:00Z or +02:00)")
                return None
            seconds = moment.timestamp()
        else:
            expected = (
                "milliseconds since the epoch or an ISO 8601 string" if self.iso else "milliseconds since the epoch"
            )
            problems.add(path, f"must be {expected}, not {type_name(value)}")
            return None
        if seconds < _EARLIEST_SECONDS:
            problems.add(path, "is before 2000-01-01; timestamps are milliseconds since the epoch, not seconds")
            return None
        if seconds >= _LATEST_SECONDS:
            problems.add(path, "is after 2100-01-01")
            return None
        if self.max_ahead is not None and seconds > datetime.now(UTC).timestamp() + self.max_ahead:
            problems.add(path, f"is more than {self.max_ahead / 3600:g} hours in the future")
            return None
        return seconds


@dataclass
class Scalar(Spec):
    """A property value: string (length-capped), finite number, boolean or null."""

    max_length: int = 1024

    def check(self, value: Any, path: Path, problems: Problems) -> Any:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, str):
            if len(value) > self.max_length:
                problems.add(path, f"is {len(value)} characters long; the limit is {self.max_length}")
            elif problem := text_problem(value):
                problems.add(path, problem)
        elif isinstance(value, int):
            if not -(2**63) <= value < 2**63:
                problems.add(path, "is outside the 64-bit integer range")
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.add(path, "must be a finite number")
        else:
            problems.add(path, f"must be a string, number, boolean or null, not {type_name(value)} (no nesting)")
        return value


@dataclass
class List(Spec):
    item: Spec
    max_items: int = 1000
    min_items: int = 0
    unique: bool = False
    nullable: bool = False

    def __call__(self, value: Any, path: Path, problems: Problems) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, list):
            problems.add(path, f"must be an array, not {type_name(value)}")
            return None
        if len(value) > self.max_items:
            problems.add(path, f"has {len(value)} items; the limit is {self.max_items}")
            return None
        if len(value) < self.min_items:
            problems.add(path, f"needs at least {self.min_items} item{'s' if self.min_items > 1 else ''}")
            return None
        check = self.item
        cleaned = [check(item, (path, index), problems) for index, item in enumerate(value)]
        if self.unique and len(set(map(repr, cleaned))) != len(cleaned):
            problems.add(path, "must not contain duplicates")
        return cleaned


@dataclass
class Map(Spec):
    """A flat object with free-form keys (properties, attributes)."""

    value: Spec = field(default_factory=Scalar)
    max_key_length: int = 1024
    max_items: int = 1000
    key_check: Callable[[str], str | None] | None = None
    nullable: bool = False

    def __call__(self, value: Any, path: Path, problems: Problems) -> Any:
        if value is None and self.nullable:
            return None
        if not isinstance(value, dict):
            problems.add(path, f"must be an object, not {type_name(value)}")
            return None
        if len(value) > self.max_items:
            problems.add(path, f"has {len(value)} keys; the limit is {self.max_items}")
            return None
        for key, item in value.items():
            key_path = (path, key)
            if not key:
                problems.add(key_path, "keys must not be empty")
            elif len(key) > self.max_key_length:
                problems.add(key_path, f"key is {len(key)} characters long; the limit is {self.max_key_length}")
            elif problem := text_problem(key) or (self.key_check and self.key_check(key)):
                problems.add(key_path, f"key {problem}")
            self.value(item, key_path, problems)
        return value


@dataclass
class Obj(Spec):
    """An object with known keys. Unknown keys are rejected so a typo never silently drops data,
    unless `ignore_unknown` (for other vendors' open-ended formats): then they are left out.

    `rules` run after the fields, on the cleaned object, for checks across fields.
    """

    fields: dict[str, Spec]
    required: frozenset[str] = frozenset()
    defaults: dict[str, Any] = field(default_factory=dict)
    rules: tuple[Callable[[dict, Path, Problems], None], ...] = ()
    nullable: bool = False
    ignore_unknown: bool = False

    def __post_init__(self) -> None:
        self._names = frozenset(self.fields)
        # Plain string fields are checked inline (the bulk of every payload), others by their spec.
        self._text_limits = {
            key: (spec.min_length, spec.max_length)
            for key, spec in self.fields.items()
            if type(spec) is Str and not spec.choices
        }

    def __call__(self, value: Any, path: Path, problems: Problems) -> Any:
        if value is None and self.nullable:
            return None
        if type(value) is not dict:
            problems.add(path, f"must be an object, not {type_name(value)}")
            return None
        problems_before = problems.count
        fields = self.fields
        keys = value.keys()
        if keys <= self._names:
            limits = self._text_limits
            cleaned = {}
            for key, item in value.items():
                limit = limits.get(key)
                if (
                    limit is not None
                    and type(item) is str
                    and limit[0] <= len(item) <= limit[1]
                    and item.isascii()
                    and "\x00" not in item
                ):
                    cleaned[key] = item
                else:
                    cleaned[key] = fields[key](item, (path, key), problems)
        else:
            cleaned = {}
            for key, item in value.items():
                if key in fields:
                    cleaned[key] = fields[key](item, (path, key), problems)
                elif not self.ignore_unknown:
                    problems.add((path, key), "is not a known field")
        if not self.required <= keys:
            for key in sorted(self.required - keys):
                problems.add((path, key), "is required")
        for key, default in self.defaults.items():
            if key not in cleaned:
                cleaned[key] = default() if callable(default) else default
        # Rules may rely on the fields being well-formed, so they only run on a clean object.
        if problems.count == problems_before:
            for rule in self.rules:
                rule(cleaned, path, problems)
        return cleaned


def validate(spec: Spec, value: Any) -> tuple[Any, list[dict[str, str]]]:
    problems = Problems()
    cleaned = spec(value, "", problems)
    return cleaned, problems.items
