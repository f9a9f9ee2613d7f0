"""Reads of the labeler: counts for a selector, the clickmap of a page, the definitions to mark on it.

Every count is a definition's count: the groups are compiled by the definition compiler
(definition_check_groups, as the editor and the preview do) and counted by the preview's own SQL
(definitions/sql.py), over the preview's window of whole UTC days.
"""

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from warehouse.models import Environment

from .. import sql as definitions_sql
from ..compiler.definition import ELEMENT_KINDS
from ..selectors import PREVIEW_DAYS, css_ident, definitions_of
from ..services import DefinitionInvalid, definition_check_groups

COUNT_WINDOWS = (7, PREVIEW_DAYS)
CLICKMAP_TARGETS = 100
MAX_MARKED_DEFINITIONS = 500
# Attributes that name an element on purpose (kept in proposed selectors), besides data-*.
STABLE_ATTRIBUTES = ("name", "aria-label", "role", "type", "for", "title", "alt")
# Classes that say how an element looks, not what it is (Tailwind-like utilities) or that a build
# tool generated (CSS modules, styled-components, emotion): they change with the next deploy.
UTILITY_CLASS_RE = re.compile(
    r"[:\[\]/!]|^-?(p[xytrbl]?|m[xytrbl]?|w|h|min-w|max-w|min-h|max-h|gap|space-[xy]|text|bg|border|rounded|shadow"
    r"|font|leading|tracking|flex|grid|col|row|items|justify|self|place|order|z|top|left|right|bottom|inset|opacity"
    r"|overflow|cursor|transition|duration|ease|translate|scale|rotate|ring|outline|fill|stroke|object|aspect)"
    r"(-[\w.]+)+$|^(flex|grid|block|inline|inline-block|hidden|relative|absolute|fixed|sticky|static|truncate"
    r"|underline|uppercase|lowercase|capitalize|italic|container|sr-only)$"
)
GENERATED_CLASS_RE = re.compile(
    r"^(css|sc|jsx|emotion|svelte)-[\w-]*[0-9][\w-]*$|^sc-[a-zA-Z0-9]{4,}$|__[\w-]*[0-9][\w-]{3,}$|_[a-zA-Z0-9]{5,}$|^[a-zA-Z]{1,3}[0-9][a-zA-Z0-9]{3,}$"
)


def window_start(days: int) -> datetime:
    """Midnight UTC of the first of the last `days` days (today included): the preview's window."""
    first_day = timezone.now().date() - timedelta(days=days - 1)
    return datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)


def labeler_count(*, environment: Environment, groups: Any, days: int) -> int:
    """Matches of `groups` over the last `days` days, exactly as the definition preview counts them.

    Raises DefinitionInvalid (as the editor does) when the groups do not compile or fail when run.
    """
    predicate, params = definition_check_groups(environment=environment, groups=groups, prefix="pn_")
    try:
        rows = definitions_sql.daily_counts(
            environment_id=environment.pk, since=window_start(days), predicate=predicate, params=params
        )
    except definitions_sql.PREDICATE_ERRORS as error:
        raise DefinitionInvalid({"groups": f"The definition fails when run: {error}".strip()}) from None
    return sum(row[1] for row in rows)


def stable_class(name: str) -> bool:
    return not UTILITY_CLASS_RE.search(name) and not GENERATED_CLASS_RE.search(name)


def css_string(value: str) -> str:
    """A CSS string token (double quotes) holding exactly `value`."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\{ord(m.group()):x} ", escaped) + '"'


def element_selector(element: Any) -> str:
    """A selector for a recorded element (one hierarchy entry) from its stable parts: `#id`, else its tag,
    stable classes and naming attributes (the same preferences as the labeler's proposal)."""
    if not isinstance(element, dict) or element.get("ns") or element.get("truncated"):
        return ""
    tag = element.get("tag")
    if not isinstance(tag, str) or not re.fullmatch(r"[a-zA-Z][a-zA-Z0-9-]*", tag):
        return ""
    element_id = element.get("id")
    if isinstance(element_id, str) and element_id and not GENERATED_CLASS_RE.search(element_id):
        return "#" + css_ident(element_id)
    selector = tag.lower()
    classes = [c for c in element.get("classes") or [] if isinstance(c, str) and c and stable_class(c)]
    selector += "".join("." + css_ident(c) for c in classes[:4])
    attrs = element.get("attrs") if isinstance(element.get("attrs"), dict) else {}
    named = [a for a in STABLE_ATTRIBUTES if isinstance(attrs.get(a), str)]
    named += sorted(a for a in attrs if a.startswith("data-") and isinstance(attrs[a], str) and len(attrs[a]) <= 100)
    for name in named[:3]:
        if re.fullmatch(r"[a-zA-Z_][\w-]*", name):
            selector += f"[{name}={css_string(attrs[name])}]"
    return selector


def element_groups(*, kind: str, selector: str, path: str | None) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = [{"type": "selector", "value": selector}]
    if path:
        conditions.append({"type": "path", "value": path})
    return [{"kind": kind, "conditions": conditions}]


def labeler_clickmap(*, environment: Environment, path: str) -> list[dict[str, Any]]:
    """The clicked targets of one path: per target, a selector and the clicks that a click definition with
    that selector and this path counts over the last 7 and 30 days (most clicked first)."""
    windows = [window_start(days) for days in sorted(COUNT_WINDOWS, reverse=True)]
    targets = definitions_sql.click_targets_on_path(
        environment_id=environment.pk, since=windows[0], path=path, limit=CLICKMAP_TARGETS
    )
    items: list[dict[str, Any]] = []
    compiled = []
    seen: set[str] = set()
    for element, _ in targets:
        # Django's connection hands jsonb over as its text.
        selector = element_selector(json.loads(element) if isinstance(element, str) else element)
        if not selector or selector in seen:
            continue
        seen.add(selector)
        groups = element_groups(kind="click", selector=selector, path=path)
        try:
            compiled.append(
                definition_check_groups(environment=environment, groups=groups, prefix=f"c{len(compiled)}_")
            )
        except DefinitionInvalid:
            continue  # a recorded element no selector the compiler takes can name
        items.append({"selector": selector, "groups": groups})
    counts = definitions_sql.counts_by_definition_windows(
        environment_id=environment.pk, windows=windows, predicates=compiled, event_type="click", path=path
    )
    for item, (days30, days7) in zip(items, counts, strict=True):
        item["days30"], item["days7"] = days30, days7
    items.sort(key=lambda item: (-item["days30"], item["selector"]))
    return items


def labeler_definitions(*, environment: Environment) -> list[dict[str, Any]]:
    """The environment's definitions of clicks, submits and changes, with the selector and path of each of
    their groups: the labeler marks the elements of the page they match."""
    out = []
    for definition in definitions_of(environment)[:MAX_MARKED_DEFINITIONS]:
        matchers = []
        for group in definition.groups if isinstance(definition.groups, list) else []:
            if not isinstance(group, dict) or group.get("kind") not in ELEMENT_KINDS:
                continue
            conditions = [c for c in group.get("conditions") or [] if isinstance(c, dict)]
            selectors = [c.get("value") for c in conditions if c.get("type") == "selector"]
            paths = [c.get("value") for c in conditions if c.get("type") == "path"]
            if selectors and isinstance(selectors[0], str):
                matchers.append({"kind": group["kind"], "selector": selectors[0], "path": paths[0] if paths else None})
        if matchers:
            out.append(
                {
                    "id": definition.pk,
                    "name": definition.name,
                    "category": definition.category,
                    "table_name": definition.table_name,
                    "matchers": matchers,
                }
            )
    return out
