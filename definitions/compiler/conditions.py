"""URL patterns, target text/href matchers and property filters -> SQL over a raw_events row `e`."""

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from psycopg2 import sql

from .css import ascii_lower
from .errors import CompileError
from .params import Params
from .selector_sql import lower_sql, not_null

URL_FIELDS = ("domain", "path", "query", "hash")
TEXT_OPS = ("exact", "contains", "regex")
PROPERTY_OPS = ("equals", "not_equals", "contains", "is_set", "is_not_set", "greater_than", "less_than", "regex")
PROPERTY_OPS_WITHOUT_VALUE = ("is_set", "is_not_set")
# A string property only compares as a number when it is plainly one (never NaN/Infinity/1e999999).
NUMERIC_TEXT_RE = r"^\s*[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$"

RegexValidator = Callable[[str], str | None]  # returns PostgreSQL's error message, or None when valid


def like_literal(text: str) -> str:
    """`text` as a LIKE pattern that matches exactly it (LIKE's own wildcards and escape escaped)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_pattern(pattern: str) -> str:
    """`*` matches any run of characters; everything else is literal."""
    return like_literal(pattern).replace("*", "%")


def url_condition(field_name: str, pattern: str, params: Params) -> sql.Composable:
    if field_name not in URL_FIELDS:
        raise CompileError(f"Unknown URL part {field_name!r} (use one of {', '.join(URL_FIELDS)})")
    if not isinstance(pattern, str):
        raise CompileError(f"The {field_name} pattern must be a string")
    column = sql.SQL("e.{}").format(sql.Identifier(field_name))
    if field_name == "domain":
        if not pattern.strip():
            raise CompileError("The domain pattern is empty")
        pattern = ascii_lower(pattern.strip())
        column = lower_sql(column)
    elif field_name == "path":
        if not pattern:
            raise CompileError("The path pattern is empty (use / or /*)")
    else:
        # Stored query/hash keep their leading ?/# (location.search/.hash); people often omit it.
        mark = "?" if field_name == "query" else "#"
        if pattern and not pattern.startswith((mark, "*")):
            pattern = mark + pattern
    if "*" not in pattern:
        return sql.SQL("{} = {}").format(column, params.add(pattern))
    return sql.SQL("{} LIKE {}").format(column, params.add(like_pattern(pattern)))


# Characters with a meaning in a PostgreSQL ARE (outside brackets); quantifiers among them.
_REGEX_SPECIAL = frozenset(".[]()*+?{}|\\^$")
_REGEX_QUANTIFIERS = frozenset("*+?{")


def regex_literal_prefix(pattern: str) -> str:
    """The literal text every match of an anchored `pattern` starts with ("" when there is none).

    `^/pricing/(team|pro)` -> "/pricing/". Conservative: any `|` (an alternative may not be
    anchored), embedded options or directors (`(?i)`, `***=`), and a quantified last character
    (`^ab*`: "a") end or shorten the prefix.
    """
    if not pattern.startswith("^") or "|" in pattern:
        return ""
    prefix = []
    for char in pattern[1:]:
        if char in _REGEX_SPECIAL:
            if char in _REGEX_QUANTIFIERS and prefix:
                prefix.pop()
            break
        prefix.append(char)
    return "".join(prefix)


def regex_as_literal(pattern: str) -> tuple[bool, str, bool] | None:
    """(anchored at the start, text, anchored at the end) when `pattern` is plain text between optional
    `^` and `$`, so a string test decides exactly what the regex would; None otherwise."""
    start, end = pattern.startswith("^"), pattern.endswith("$") and not pattern.endswith("\\$")
    text = pattern[1 if start else 0 : -1 if end and len(pattern) > start else None]
    if any(char in _REGEX_SPECIAL for char in text):
        return None
    return start, text, end


def regex_match(value: sql.Composable, pattern: str, params: Params) -> sql.Composable:
    """`value ~ pattern`, or the string test that decides the same more cheaply.

    PostgreSQL's regex costs ~1 µs a call (it converts the text and sets up its automaton every
    time), against ~0.1 µs for a string test. A pattern that is plain text (`^/pricing/3`,
    `checkout`, `^Buy$`) becomes that test: a prefix (LIKE 'text%', which PostgreSQL 18 runs faster
    than starts_with), a substring (strpos) or equality. Any other pattern with a literal prefix
    runs behind the prefix test, so the regex sees only the values that can match.
    """
    literal = regex_as_literal(pattern)
    if literal is not None:
        start, text, end = literal
        if start and end:
            return sql.SQL("{} = {}").format(value, params.add(text))
        if start:
            return sql.SQL("{} LIKE {}").format(value, params.add(like_literal(text) + "%"))
        if end:
            return sql.SQL("{} LIKE {}").format(value, params.add("%" + like_literal(text)))
        return sql.SQL("strpos({}, {}) > 0").format(value, params.add(text))
    match = sql.SQL("{} ~ {}").format(value, params.add(pattern))
    prefix = regex_literal_prefix(pattern)
    if not prefix:
        return match
    return sql.SQL("({} LIKE {} AND {})").format(value, params.add(like_literal(prefix) + "%"), match)


def check_regex(pattern: str, validate_regex: RegexValidator | None) -> None:
    if not isinstance(pattern, str) or pattern == "":
        raise CompileError("The regular expression is empty")
    if has_back_reference(pattern):
        # `(.*)(.*)(.*)\3\2\1` over a few hundred characters runs for minutes, holding a core: anyone
        # who may preview could stop the server. Without back-references PostgreSQL's engine stays fast.
        raise CompileError("Back-references (\\1 to \\9) are not supported in regular expressions")
    if validate_regex is not None:
        error = validate_regex(pattern)
        if error:
            raise CompileError(f"Invalid regular expression: {error}")


def has_back_reference(pattern: str) -> bool:
    """Whether the pattern has a back-reference (a backslash and a digit 1-9, the backslash not
    itself escaped)."""
    position = 0
    while (position := pattern.find("\\", position)) != -1:
        if pattern[position + 1 : position + 2] in tuple("123456789"):
            return True
        position += 2
    return False


def text_condition(
    column_name: str, op: str, value, params: Params, validate_regex: RegexValidator | None
) -> sql.Composable:
    column = sql.SQL("e.{}").format(sql.Identifier(column_name))
    label = "text" if column_name == "target_text" else "href"
    if op not in TEXT_OPS:
        raise CompileError(f"Unknown {label} operator {op!r} (use one of {', '.join(TEXT_OPS)})")
    if not isinstance(value, str):
        raise CompileError(f"The {label} value must be a string")
    if op == "exact":
        return sql.SQL("{} = {}").format(column, params.add(value))
    if op == "contains":
        if value == "":
            raise CompileError(f"'{label} contains' needs a value (an empty one matches everything)")
        return sql.SQL("strpos({}, {}) > 0").format(column, params.add(value))
    check_regex(value, validate_regex)
    return regex_match(column, value, params)


def _as_number(value) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        value = repr(value)
    if not isinstance(value, str) or not re.fullmatch(NUMERIC_TEXT_RE, value):
        return None
    try:
        return Decimal(value.strip())
    except InvalidOperation:
        return None


def _as_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return value
    raise CompileError("The property value must be a string, number or boolean")


def property_condition(key, op: str, value, params: Params, validate_regex: RegexValidator | None) -> sql.Composable:
    if not isinstance(key, str) or not key:
        raise CompileError("The property name is empty")
    if op not in PROPERTY_OPS:
        raise CompileError(f"Unknown property operator {op!r} (use one of {', '.join(PROPERTY_OPS)})")
    key_param = params.add(key)
    as_text = sql.SQL("(e.properties ->> {})").format(key_param)
    as_json = sql.SQL("(e.properties -> {})").format(key_param)
    if op == "is_set":
        return sql.SQL("(e.properties ? {})").format(key_param)
    if op == "is_not_set":
        return sql.SQL("NOT (e.properties ? {})").format(key_param)
    if op in ("equals", "not_equals"):
        text = _as_text(value)
        equals = sql.SQL("{} = {}").format(as_text, params.add(text))
        number = _as_number(text)
        if number is not None:
            # 5 and 5.0 are the same number even though their JSON texts differ.
            numeric = sql.SQL("(jsonb_typeof({j}) = 'number' AND {j}::numeric = {n})").format(
                j=as_json, n=params.add(number)
            )
            equals = sql.SQL("({} OR {})").format(equals, numeric)
        if op == "equals":
            return not_null(equals)
        # Not set counts as "not equal".
        return sql.SQL("NOT COALESCE({}, FALSE)").format(equals)
    if op == "contains":
        text = _as_text(value)
        if text == "":
            raise CompileError("'contains' needs a value (an empty one matches everything)")
        return not_null(sql.SQL("strpos({}, {}) > 0").format(as_text, params.add(text)))
    if op == "regex":
        check_regex(value, validate_regex)
        return not_null(regex_match(as_text, value, params))
    number = _as_number(value)
    if number is None:
        raise CompileError(f"'{op.replace('_', ' ')}' needs a number, not {value!r}")
    comparison = sql.SQL(">" if op == "greater_than" else "<")
    return not_null(
        sql.SQL(
            "(CASE jsonb_typeof({j}) WHEN 'number' THEN {j}::numeric {cmp} {n}"
            " WHEN 'string' THEN (CASE WHEN {t} ~ {re} THEN {t}::numeric {cmp} {n} END) END)"
        ).format(j=as_json, t=as_text, cmp=comparison, n=params.add(number), re=params.add(NUMERIC_TEXT_RE))
    )
