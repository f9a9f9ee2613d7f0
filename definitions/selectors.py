"""Reads for event definitions: compiled specs for the sync, the list page, previews, prefill."""

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from psycopg2 import sql

from warehouse.models import Environment, RawEvent
from warehouse.registry import EventTableSpec

from . import sql as definitions_sql
from .compiler import (
    CompileError,
    compile_definition,
    definition_custom_event_name,
    definition_event_types,
    definition_gates,
)
from .compiler.css import ascii_lower
from .models import Definition
from .sampling import EXACT, RawSample, raw_sample_for
from .services import DefinitionInvalid, combo_resolver, definition_check_groups

logger = logging.getLogger(__name__)

PREVIEW_DAYS = 30
LIST_DAYS = 7
SAMPLE_SIZE = 20


def definitions_of(environment: Environment) -> QuerySet[Definition]:
    return Definition.objects.filter(environment=environment).select_related("updated_by").order_by("name")


def definition_compiled(
    definition: Definition, environment: Environment | None = None
) -> tuple[sql.Composable, dict[str, Any]]:
    return compile_definition(
        definition.groups,
        prefix=definition.param_prefix,
        definition_id=definition.pk,
        resolve_combo=combo_resolver(environment or definition.environment),
    )


def predicate_version(predicate: sql.Composable, params: dict[str, Any]) -> str:
    # repr() of psycopg2's Composed is deterministic and needs no connection.
    payload = repr(predicate) + json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _compile_problem(error: BaseException) -> str:
    if isinstance(error, CompileError):
        return f"the definition does not compile: {error}"
    if isinstance(error, RecursionError):
        return "the definition does not compile: it is nested too deeply"
    return f"the definition does not compile: {type(error).__name__}: {error}"


def definition_compiled_or_error(
    definition: Definition, environment: Environment | None = None
) -> tuple[tuple[sql.Composable, dict[str, Any]] | None, str]:
    """(compiled predicate and params, "") or (None, why it does not compile), for any stored definition.

    Saved definitions compile (checked at save), but a stored one may not any more (an older
    compiler accepted it, a row written by hand, a combo whose member changed): pages and the sync
    must show that, not fail on it.
    """
    try:
        return definition_compiled(definition, environment), ""
    except (CompileError, RecursionError) as error:
        return None, _compile_problem(error)
    except Exception as error:  # malformed stored groups (wrong types) the compiler did not anticipate
        logger.exception("definition %s does not compile", definition.pk)
        return None, _compile_problem(error)


def _definition_spec(definition: Definition, environment: Environment) -> EventTableSpec:
    predicate, params = definition_compiled(definition, environment)
    resolver = combo_resolver(environment)
    return EventTableSpec(
        key=definition.event_table_key,
        table_name=definition.table_name,
        predicate=predicate,
        params=params,
        version=predicate_version(predicate, params),
        label=definition.name,
        # A combo's members are read again (compiling read them): its types and gates are theirs.
        event_types=definition_event_types(definition.groups, resolve_combo=resolver),
        gates=definition_gates(definition.groups, resolve_combo=resolver),
        sync=definition.sync_enabled,
        custom_event_name=definition_custom_event_name(definition.groups),
        url=reverse("definitions:edit", args=[environment.warehouse_schema, definition.pk]),
    )


def definition_event_tables(environment_id: int) -> list[EventTableSpec]:
    """The registry provider: one EventTableSpec per definition of the environment, its switch as `sync`
    (with `error` when it cannot be made: the sync then keeps its table's last good version and reports why)."""
    specs = []
    environment = Environment.objects.get(pk=environment_id)
    for definition in Definition.objects.filter(environment=environment):
        try:
            specs.append(_definition_spec(definition, environment))
        except Exception as error:
            if not isinstance(error, CompileError | RecursionError):
                logger.exception("definition %s does not compile", definition.pk)
            specs.append(
                EventTableSpec(
                    key=definition.event_table_key,
                    table_name=definition.table_name,
                    predicate=sql.SQL("false"),
                    label=definition.name,
                    sync=definition.sync_enabled,
                    url=reverse("definitions:edit", args=[environment.warehouse_schema, definition.pk]),
                    error=_compile_problem(error),
                )
            )
    return specs


@dataclass
class DefinitionRow:
    definition: Definition
    matches_last_7_days: int | None
    # Why its matches cannot be counted (it does not compile, or its predicate fails when run).
    error: str = ""
    estimated: bool = False  # counted in a sample (definitions/sampling.py): the page marks it ≈


def definition_list(
    environment: Environment, *, exact: bool = False, sample: RawSample | None = None
) -> list[DefinitionRow]:
    """Every definition with its matches over the last LIST_DAYS days: one scan for all of them (or of a
    sample of them when the range is large, unless `exact`); if one predicate fails when run, each is
    counted alone so the others still show their counts."""
    definitions = list(definitions_of(environment))
    compiled, rows = [], []
    for definition in definitions:
        predicate, error = definition_compiled_or_error(definition, environment)
        if predicate is None:
            rows.append(DefinitionRow(definition, None, error))
        else:
            compiled.append((definition, predicate))
    since = timezone.now() - timedelta(days=LIST_DAYS)
    if sample is None:
        sample = raw_sample_for(environment_id=environment.pk, since=since, exact=exact or not compiled)
    estimated = sample.estimated
    try:
        counts = definitions_sql.counts_by_definition(
            environment_id=environment.pk, since=since, predicates=[c for _, c in compiled], sample=sample
        )
        rows += [DefinitionRow(d, n, estimated=estimated) for (d, _), n in zip(compiled, counts, strict=True)]
    except definitions_sql.QueryTooSlow as error:  # one by one would take as long, each
        rows += [DefinitionRow(definition, None, str(error)) for definition, _ in compiled]
    except definitions_sql.PREDICATE_ERRORS:
        for definition, predicate in compiled:
            try:
                (count,) = definitions_sql.counts_by_definition(
                    environment_id=environment.pk, since=since, predicates=[predicate], sample=sample
                )
            except definitions_sql.PREDICATE_ERRORS as error:
                rows.append(DefinitionRow(definition, None, f"its predicate fails when run: {error}".strip()))
            else:
                rows.append(DefinitionRow(definition, count, estimated=estimated))
    rows.sort(key=lambda row: row.definition.name.lower())
    return rows


@dataclass
class Preview:
    days: list[tuple[date, int]] = field(default_factory=list)
    total: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)
    compared: bool = False  # gained/lost are against the saved version
    gained: int = 0
    lost: int = 0
    max_day: int = 0
    # estimated: the counts are scaled from this sample and the events are the newest matches among the
    # newest RAW_ESTIMATE_SAMPLE_EVENTS (the page marks them ≈ and fetches the exact preview).
    sample: RawSample = EXACT
    samples_window: int = 0  # estimated: the events shown are the newest matches among this many newest events

    @property
    def bars(self) -> list[dict[str, Any]]:
        """Geometry of the inline SVG chart (viewBox 0 0 300 80): one bar per day."""
        width = 300 / max(len(self.days), 1)
        out = []
        for i, (day, count) in enumerate(self.days):
            height = round(70 * count / self.max_day, 1) if self.max_day else 0
            out.append(
                {
                    "x": round(i * width, 1),
                    "y": 75 - height,
                    "w": round(width * 0.8, 1),
                    "h": height,
                    "day": day,
                    "count": count,
                }
            )
        return out


def definition_preview(
    *,
    environment: Environment,
    groups: Any,
    definition: Definition | None = None,
    days: int = PREVIEW_DAYS,
    exact: bool = False,
    sample: RawSample | None = None,
) -> Preview:
    """Matches per day over the last `days` days, a sample, and gained/lost against the saved groups: exact
    for a small range or when asked, else estimated from a sample (definitions/sampling.py); `sample` forces one.

    Raises DefinitionInvalid when `groups` does not compile.
    """
    predicate, params = definition_check_groups(
        environment=environment, groups=groups, definition_id=definition.pk if definition else None, prefix="pn_"
    )
    today = timezone.now().date()
    first_day = today - timedelta(days=days - 1)
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    if sample is None:
        sample = raw_sample_for(environment_id=environment.pk, since=since, exact=exact)
    window = settings.RAW_ESTIMATE_SAMPLE_EVENTS if sample.estimated else None
    previous = previous_params = None
    if definition is not None and definition.groups != groups:
        try:
            previous, previous_params = compile_definition(
                definition.groups,
                prefix="po_",
                definition_id=definition.pk,
                resolve_combo=combo_resolver(environment),
            )
        except (CompileError, RecursionError):  # the saved version no longer compiles: nothing to compare
            previous = None

    def counts(previous, previous_params):
        return definitions_sql.daily_counts(
            environment_id=environment.pk,
            since=since,
            predicate=predicate,
            params=params,
            previous=previous,
            previous_params=previous_params,
            sample=sample,
        )

    try:
        try:
            rows = counts(previous, previous_params)
        except definitions_sql.PREDICATE_ERRORS as error:
            if previous is None or isinstance(error, definitions_sql.QueryTooSlow):
                raise
            previous = None  # the saved version fails when run: preview the edited one alone
            rows = counts(None, None)
        samples = definitions_sql.sample_events(
            environment_id=environment.pk,
            since=since,
            predicate=predicate,
            params=params,
            limit=SAMPLE_SIZE,
            newest=window,
        )
    except definitions_sql.PREDICATE_ERRORS as error:
        raise DefinitionInvalid({"groups": f"The definition fails when run: {error}".strip()}) from None
    by_day = {row[0]: (row[0], *(sample.scaled(n) for n in row[1:])) for row in rows}
    preview = Preview(compared=previous is not None, sample=sample, samples_window=window or 0)
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        count = by_day[day][1] if day in by_day else 0
        preview.days.append((day, count))
        preview.total += count
        if day in by_day:
            preview.gained += by_day[day][2]
            preview.lost += by_day[day][3]
    preview.max_day = max((count for _, count in preview.days), default=0)
    preview.samples = samples
    return preview


def css_ident(value: str) -> str:
    """An identifier as CSS source (like CSS.escape)."""
    out = []
    for i, ch in enumerate(value):
        if ch == "\0":
            out.append("\ufffd")
        elif ch.isascii() and (ch.isalnum() or ch in "-_") or not ch.isascii():
            if ch.isdigit() and (i == 0 or (i == 1 and value[0] == "-")):
                out.append(f"\\{ord(ch):x} ")
            else:
                out.append(ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\{ord(ch):x} ")
        else:
            out.append("\\" + ch)
    if value == "-":
        return "\\-"
    return "".join(out)


def _compound_for(element: dict[str, Any], *, with_classes: bool = True) -> str:
    if element.get("id"):
        return "#" + css_ident(element["id"])
    # Type selectors match case-insensitively (SVG's foreignObject too), so lowercase reads best.
    tag = ascii_lower(element.get("tag", ""))
    compound = css_ident(tag) if tag else "*"
    if with_classes:
        compound += "".join("." + css_ident(c) for c in element.get("classes", [])[:4])
    return compound


def suggested_selector(hierarchy: list[dict[str, Any]]) -> str:
    """The target's id if it has one; else its tag and classes under the nearest ancestor with an id."""
    if not hierarchy:
        return ""
    target = hierarchy[0]
    if target.get("id"):
        return _compound_for(target)
    selector = _compound_for(target)
    for ancestor in hierarchy[1:]:
        if ancestor.get("id"):
            return _compound_for(ancestor) + " " + selector
    return selector


def prefill_from_event(environment: Environment, event_id: Any) -> dict[str, Any] | None:
    """A draft definition (name and groups) from one raw event of this environment, or None."""
    try:
        event = RawEvent.objects.get(environment=environment, pk=int(event_id))
    except (ValueError, TypeError, RawEvent.DoesNotExist):
        return None
    conditions: list[dict[str, Any]] = []
    if event.type == "custom":
        return {"name": event.event_name, "groups": [{"kind": "custom", "event_name": event.event_name}]}
    if event.type in ("click", "submit", "change"):
        selector = suggested_selector(event.hierarchy or [])
        if selector:
            conditions.append({"type": "selector", "value": selector})
        if event.target_text:
            conditions.append({"type": "text", "op": "exact", "value": event.target_text})
    if event.path:
        conditions.append({"type": "path", "value": event.path})
    label = event.target_text or event.title or event.path or event.type
    verb = {"pageview": "Viewed", "click": "Clicked", "submit": "Submitted", "change": "Changed"}[event.type]
    return {"name": f"{verb} {label}"[:200], "groups": [{"kind": event.type, "conditions": conditions}]}


_PATH_PART_RE = re.compile(r"^groups\[(\d+)\](?:\.conditions\[(\d+)\]|\.definitions\[(\d+)\]|\.(\w+))?")
_CONDITION_WORDS = {
    "selector": "CSS selector",
    "text": "target text",
    "href": "link href",
    "domain": "domain",
    "path": "path",
    "query": "query",
    "hash": "hash",
    "property": "property",
}


def error_place(path: str, groups: Any) -> str:
    """Where in a definition an error is, in words: `groups[0].conditions[1]` -> "Group 1, condition 2 (path)"."""
    match = _PATH_PART_RE.match(path)
    if not match:
        return {"name": "Name", "category": "Category", "description": "Description"}.get(path, "Match groups")
    group_index, condition_index, member_index, key = match.groups()
    place = f"Group {int(group_index) + 1}"
    if condition_index is not None:
        place += f", condition {int(condition_index) + 1}"
        try:
            kind = groups[int(group_index)]["conditions"][int(condition_index)].get("type")
        except (IndexError, KeyError, TypeError, AttributeError):
            kind = None
        if kind in _CONDITION_WORDS:
            place += f" ({_CONDITION_WORDS[kind]})"
    elif member_index is not None:
        place += f", combined definition {int(member_index) + 1}"
    elif key == "event_name":
        place += ", event name"
    return place


def errors_in_words(errors: dict[str, str], groups: Any) -> list[dict[str, str]]:
    """[{path, place, message}] for the page: the path places the message next to its field (the form's
    script), the place says where in words (without the script)."""
    return [{"path": path, "place": error_place(path, groups), "message": message} for path, message in errors.items()]
