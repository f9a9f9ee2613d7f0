"""The definition compiler: CSS selectors, URL patterns and filters -> one SQL predicate over raw_events `e`.

Public API (the raw-data browser and the sync use these):
- `compile_selector(text, prefix=...) -> (sql.Composable, params)`: `target.matches(text)`.
- `compile_definition(groups, prefix=..., resolve_combo=..., validate_regex=...) -> (sql, params)`.
- `definition_event_types(groups)`: the `e.type`s a definition can match (() = any; for the sync).
- `definition_gates(groups)`: per type, a per-row feature and the values it must have (for the sync).
- `definition_custom_event_name(groups)`: the custom event name a definition is exactly, or "".
- `parse_selector_list(text)`: raises `CompileError` (message names the problem and its position).
Predicates never evaluate to NULL and use only `%(<prefix>N)s` placeholders.
"""

from .css import parse_selector_list
from .definition import (
    KINDS,
    compile_definition,
    compile_selector,
    definition_custom_event_name,
    definition_event_types,
)
from .errors import CompileError
from .gates import definition_gates

__all__ = [
    "KINDS",
    "CompileError",
    "compile_definition",
    "compile_selector",
    "definition_custom_event_name",
    "definition_event_types",
    "definition_gates",
    "parse_selector_list",
]
