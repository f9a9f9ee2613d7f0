"""A definition's match groups -> one SQL predicate over raw_events `e` (groups OR-ed, conditions AND-ed).

Definition format (stored as JSON, also the API's):

    {"groups": [
        {"kind": "click", "conditions": [
            {"type": "selector", "value": "#signup button.primary"},
            {"type": "text", "op": "contains", "value": "Start"},
            {"type": "path", "value": "/pricing/*"},
            {"type": "property", "key": "plan", "op": "equals", "value": "pro"}]},
        {"kind": "custom", "event_name": "Signed Up", "conditions": []},
        {"kind": "combo", "definitions": [12, 15]}]}
"""

import contextlib
from collections.abc import Callable
from typing import Any

from psycopg2 import sql

from .conditions import URL_FIELDS, RegexValidator, property_condition, text_condition, url_condition
from .css import parse_selector_list
from .errors import CompileError
from .params import Params
from .selector_sql import FALSE, SelectorCompiler, and_sql, or_sql

KINDS = ("pageview", "click", "submit", "change", "custom", "combo")
ELEMENT_KINDS = ("click", "submit", "change")
CONDITION_TYPES = ("selector", "text", "href", *URL_FIELDS, "property")
ALLOWED_CONDITIONS = {
    "pageview": (*URL_FIELDS, "property"),
    "click": CONDITION_TYPES,
    "submit": CONDITION_TYPES,
    "change": CONDITION_TYPES,
    "custom": (*URL_FIELDS, "property"),
    "combo": (),
}
CONDITION_KEYS = {
    "selector": {"type", "value"},
    "text": {"type", "op", "value"},
    "href": {"type", "op", "value"},
    "property": {"type", "key", "op", "value"},
    **{name: {"type", "value"} for name in URL_FIELDS},
}
GROUP_KEYS = {"kind", "conditions", "event_name", "definitions"}
MAX_GROUPS = 50
MAX_CONDITIONS = 50
# Combos that include combos: each level is a few Python frames and a nested OR in the SQL.
MAX_COMBO_DEPTH = 10
# Compound selectors in all the selectors of one definition's own groups (its combos' members count
# in their own definitions): every step compiles to SQL the sync runs over all history, so 50
# conditions of 32 selectors of 32 steps would be tens of megabytes (docs/definitions.md, "Limits").
MAX_SELECTOR_STEPS = 256
MAX_COMBO_MEMBERS = 500

# Returns the groups of another definition of the same environment, or raises CompileError.
ComboResolver = Callable[[int], list[dict[str, Any]]]


class ComboShapeError(CompileError):
    """A cycle of combos, or combos nested too deep: reported where the top-level combo lists it."""


def _require_list(value, what: str) -> list:
    if not isinstance(value, list):
        raise CompileError(f"{what} must be a list")
    return value


def _condition_cost(condition: dict) -> int:
    """Rough cost class of a condition's SQL: column compares, then substring tests, properties, selectors, regexes."""
    op = condition.get("op", "exact")
    if op == "regex":
        return 4
    ctype = condition.get("type")
    if ctype == "selector":
        return 3
    if ctype == "property":
        return 2
    if ctype in ("text", "href") and op != "exact":
        return 1
    return 0


class DefinitionCompiler:
    def __init__(self, *, prefix: str, resolve_combo: ComboResolver | None, validate_regex: RegexValidator | None):
        self.params = Params(prefix)
        self.selectors = SelectorCompiler(self.params)
        self.resolve_combo = resolve_combo
        self.validate_regex = validate_regex
        # Definitions already in the predicate: everything under a combo is OR-ed, so a definition
        # reached twice (a diamond of combos) adds nothing the second time, and the SQL stays
        # linear in the number of definitions rather than exponential in the depth.
        self.included: set[int] = set()

    def groups(self, groups, *, stack: tuple[int, ...] = (), path: str = "groups", depth: int = 0) -> sql.Composable:
        groups = _require_list(groups, "groups")
        if not groups:
            raise CompileError("A definition needs at least one match group", path=path)
        if len(groups) > MAX_GROUPS:
            raise CompileError(f"At most {MAX_GROUPS} match groups", path=path)
        if not stack and (steps := _selector_steps(groups)) > MAX_SELECTOR_STEPS:
            raise CompileError(
                f"The definition's selectors have {steps} compound selectors in all; the limit is {MAX_SELECTOR_STEPS}",
                path=path,
            )
        parts = [self.group(group, stack=stack, path=f"{path}[{i}]", depth=depth) for i, group in enumerate(groups)]
        parts = [part for part in parts if part is not FALSE]
        return or_sql(parts) if parts else FALSE

    def group(self, group, *, stack: tuple[int, ...], path: str, depth: int) -> sql.Composable:
        if not isinstance(group, dict):
            raise CompileError("A match group must be an object", path=path)
        unknown = set(group) - GROUP_KEYS
        if unknown:
            raise CompileError(f"Unknown key {sorted(unknown)[0]!r} in the match group", path=path)
        kind = group.get("kind")
        if kind not in KINDS:
            raise CompileError(f"Unknown kind {kind!r} (use one of {', '.join(KINDS)})", path=f"{path}.kind")
        if kind == "combo":
            return self.combo(group, stack=stack, path=path, depth=depth)
        conditions = _require_list(group.get("conditions", []), "conditions")
        if len(conditions) > MAX_CONDITIONS:
            raise CompileError(f"At most {MAX_CONDITIONS} conditions per group", path=f"{path}.conditions")
        parts = [sql.SQL("e.type = {}").format(self.params.add(kind))]
        if kind == "custom":
            name = group.get("event_name")
            if not isinstance(name, str) or not name.strip():
                raise CompileError("A custom-event group needs the event name", path=f"{path}.event_name")
            parts.append(sql.SQL("e.event_name = {}").format(self.params.add(name)))
        elif "event_name" in group:
            raise CompileError("Only custom-event groups have an event name", path=f"{path}.event_name")
        elif not conditions:
            raise CompileError(f"The {kind} group has no conditions", path=f"{path}.conditions")
        compiled = []
        for i, condition in enumerate(conditions):
            cond_path = f"{path}.conditions[{i}]"
            try:
                compiled.append((_condition_cost(condition), i, self.condition(kind, condition)))
            except CompileError as error:
                raise error.at(cond_path) from None
        # Cheapest first (AND is evaluated left to right): a page or text compare rules out most
        # events before a selector reads the hierarchy (the same meaning in any order: no part is NULL).
        parts += [part for _, _, part in sorted(compiled, key=lambda item: item[:2])]
        if any(part is FALSE for part in parts):
            return FALSE
        return and_sql(parts)

    def condition(self, kind: str, condition) -> sql.Composable:
        if not isinstance(condition, dict):
            raise CompileError("A condition must be an object")
        ctype = condition.get("type")
        if ctype not in CONDITION_TYPES:
            raise CompileError(f"Unknown condition type {ctype!r} (use one of {', '.join(CONDITION_TYPES)})")
        if ctype not in ALLOWED_CONDITIONS[kind]:
            raise CompileError(f"A {kind} group cannot have a {ctype} condition")
        unknown = set(condition) - CONDITION_KEYS[ctype]
        if unknown:
            raise CompileError(f"Unknown key {sorted(unknown)[0]!r} in the {ctype} condition")
        value = condition.get("value")
        if ctype == "selector":
            return self.selectors.selector_list(parse_selector_list(value))
        if ctype in ("text", "href"):
            column = "target_text" if ctype == "text" else "target_href"
            return text_condition(column, condition.get("op", "exact"), value, self.params, self.validate_regex)
        if ctype == "property":
            op = condition.get("op")
            return property_condition(condition.get("key"), op, value, self.params, self.validate_regex)
        return url_condition(ctype, value, self.params)

    def combo(self, group: dict, *, stack: tuple[int, ...], path: str, depth: int) -> sql.Composable:
        if group.get("conditions") or "event_name" in group:
            raise CompileError("A combo group only lists definitions", path=path)
        ids = _require_list(group.get("definitions"), "definitions")
        if not ids:
            raise CompileError("The combo group lists no definitions", path=f"{path}.definitions")
        if len(ids) > MAX_COMBO_MEMBERS:
            raise CompileError(
                f"A combo group lists at most {MAX_COMBO_MEMBERS} definitions", path=f"{path}.definitions"
            )
        if self.resolve_combo is None:
            raise CompileError("Combos need the other definitions of the environment", path=path)
        parts = []
        for i, definition_id in enumerate(ids):
            item_path = f"{path}.definitions[{i}]"
            if not isinstance(definition_id, int) or isinstance(definition_id, bool):
                raise CompileError(f"{definition_id!r} is not a definition id", path=item_path)
            if definition_id in stack:
                raise ComboShapeError("This combo would include itself (a cycle of combos)", path=item_path)
            if definition_id in self.included:
                continue
            if depth >= MAX_COMBO_DEPTH:
                message = f"Combos can include combos at most {MAX_COMBO_DEPTH} levels deep"
                raise ComboShapeError(message, path=item_path)
            try:
                groups = self.resolve_combo(definition_id)
            except CompileError as error:
                raise CompileError(error.message, path=item_path) from None
            self.included.add(definition_id)
            try:
                parts.append(self.groups(groups, stack=(*stack, definition_id), path="groups", depth=depth + 1))
            except ComboShapeError as error:
                raise ComboShapeError(error.message, path=item_path) from None
            except CompileError as error:
                raise CompileError(f"Definition {definition_id} is invalid: {error}", path=item_path) from None
        parts = [part for part in parts if part is not FALSE]
        return or_sql(parts) if parts else FALSE


def compile_definition(
    groups,
    *,
    prefix: str,
    definition_id: int | None = None,
    resolve_combo: ComboResolver | None = None,
    validate_regex: RegexValidator | None = None,
) -> tuple[sql.Composable, dict[str, Any]]:
    """One boolean (never NULL: every leaf that could be is COALESCEd) over raw_events `e`, and its
    params named `<prefix><n>`."""
    compiler = DefinitionCompiler(prefix=prefix, resolve_combo=resolve_combo, validate_regex=validate_regex)
    stack = (definition_id,) if definition_id is not None else ()
    return compiler.groups(groups, stack=stack), compiler.params.values


def _selector_steps(groups: list) -> int:
    """Compound selectors in the selector conditions of these groups (combos' members not included);
    a selector that does not parse counts nothing here: compiling it reports it, with its position."""
    steps = 0
    for group in groups:
        conditions = group.get("conditions") if isinstance(group, dict) and group.get("kind") != "combo" else None
        for condition in conditions if isinstance(conditions, list) else ():
            if isinstance(condition, dict) and condition.get("type") == "selector":
                with contextlib.suppress(CompileError):
                    steps += sum(len(complex_.compounds) for complex_ in parse_selector_list(condition.get("value")))
    return steps


def expand_combos(
    groups, resolve_combo: ComboResolver | None, *, depth: int = 0, stack: tuple = (), seen: set | None = None
) -> list | None:
    """The groups other than combos that a definition's predicate ORs together, its combos' members
    resolved (as compile_definition does); None when a combo cannot be resolved (no resolver, a
    cycle, too deep, a member that is not there).

    A definition reached again (listed twice, or through two combos) is expanded once, as the
    compiler does: everything is OR-ed. Expanded every time, three levels of combos listing the
    previous one 100 times each cost a million expansions (a sync and the definitions list took
    18 s; four levels exhausted the worker's memory)."""
    if not isinstance(groups, list):
        return None
    seen = set() if seen is None else seen
    out = []
    for group in groups:
        if not isinstance(group, dict):
            return None
        if group.get("kind") != "combo":
            out.append(group)
            continue
        ids = group.get("definitions")
        if resolve_combo is None or depth >= MAX_COMBO_DEPTH or not isinstance(ids, list):
            return None
        for definition_id in ids:
            if not isinstance(definition_id, int) or definition_id in stack:
                return None
            if definition_id in seen:
                continue
            seen.add(definition_id)
            try:
                members = expand_combos(
                    resolve_combo(definition_id),
                    resolve_combo,
                    depth=depth + 1,
                    stack=(*stack, definition_id),
                    seen=seen,
                )
            except (CompileError, KeyError, TypeError):
                return None
            if members is None:
                return None
            out += members
    return out


def definition_event_types(groups, *, resolve_combo: ComboResolver | None = None) -> tuple[str, ...]:
    """The raw event types a compiled definition can match (each group kind is its `e.type`); () meaning
    "any type" when a combo is involved and `resolve_combo` is not given (or cannot resolve it)."""
    if resolve_combo is not None and isinstance(groups, list):
        groups = expand_combos(groups, resolve_combo) or []
    kinds = {group.get("kind") for group in groups if isinstance(group, dict)} if isinstance(groups, list) else set()
    if not kinds or not kinds <= set(KINDS) - {"combo"}:
        return ()
    return tuple(sorted(kinds))


def definition_custom_event_name(groups) -> str:
    """The custom event name a definition is exactly (one custom group, no conditions), else ""."""
    if not isinstance(groups, list) or len(groups) != 1 or not isinstance(groups[0], dict):
        return ""
    group = groups[0]
    name = group.get("event_name")
    if group.get("kind") != "custom" or group.get("conditions") or not isinstance(name, str):
        return ""
    return name


def compile_selector(text: str, *, prefix: str = "sel_") -> tuple[sql.Composable, dict[str, Any]]:
    """`target.matches(text)` as a boolean (never NULL) over raw_events `e`."""
    params = Params(prefix)
    return SelectorCompiler(params).selector_list(parse_selector_list(text)), params.values
