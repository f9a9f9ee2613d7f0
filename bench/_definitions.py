"""Realistic event definitions drawn from an environment's raw events, the way people define events.

    from _definitions import generate_definitions
    definitions = generate_definitions(environment_id, 500)   # [GeneratedDefinition, ...]

What a team that has defined hundreds of events has, taken from the data as the raw browser's Top
interactions shows it (definitions/browse/selectors.py): the most used click, submit and change
targets by their suggested selector (definitions.selectors.suggested_selector), with one to three
conditions (selector, its text, the page it is on), other spellings of the same targets (a class, an
attribute, a `>` chain, an ancestor's id), a button text alone, page paths exact and with wildcards,
custom event names (with a property filter now and then), definitions of two groups of different
kinds, and combos of earlier definitions. Popular things are defined first and most often in
several ways, the long tail later: at 500 definitions most targets are defined a few times over,
as they are in real workspaces, and an event matches one to two tables on average (each timing
is reported with the rows the sync wrote).

Deterministic for the same data and seed: definition n is the same whatever the count. Not a
benchmark itself (the leading underscore: bench/run_all.py skips it); bench/sync_definitions.py
and tests/warehouse/sync/test_sync_equivalence.py use it.
"""

import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any

from django.db import connection
from psycopg2 import sql

from definitions.compiler import compile_definition, definition_event_types, definition_gates
from definitions.selectors import suggested_selector
from warehouse.registry import EventTableSpec


@dataclass
class GeneratedDefinition:
    number: int  # 1-based; a combo's "definitions" refer to these numbers
    name: str
    groups: list[dict[str, Any]]


def _pools(environment_id: int) -> dict[str, list]:
    """What Top interactions shows, over all of the environment's raw events, most used first."""
    pools: dict[str, list] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT e.type, e.hierarchy, e.target_text, e.path, e.target_href, count(*) FROM raw_events e"
            " WHERE e.environment_id = %s AND e.type IN ('click', 'submit', 'change')"
            " GROUP BY e.type, e.hierarchy, e.target_text, e.path, e.target_href"
            " ORDER BY count(*) DESC, e.type, e.target_text, e.path",
            [environment_id],
        )
        pools["elements"] = [
            (kind, json.loads(h) if isinstance(h, str) else h, text, path, href, count)
            for kind, h, text, path, href, count in cursor.fetchall()
        ]
        cursor.execute(
            "SELECT e.path, count(*) FROM raw_events e WHERE e.environment_id = %s AND e.type = 'pageview'"
            " GROUP BY e.path ORDER BY count(*) DESC, e.path",
            [environment_id],
        )
        pools["pages"] = cursor.fetchall()
        cursor.execute(
            "SELECT e.event_name, count(*), (array_agg(e.properties ORDER BY e.id))[1] FROM raw_events e"
            " WHERE e.environment_id = %s AND e.type = 'custom' GROUP BY e.event_name ORDER BY count(*) DESC,"
            " e.event_name",
            [environment_id],
        )
        cursor.execute(
            "SELECT e.query FROM raw_events e WHERE e.environment_id = %s AND e.type = 'pageview' AND e.query <> ''"
            " GROUP BY e.query ORDER BY count(*) DESC, e.query LIMIT 8",
            [environment_id],
        )
        pools["queries"] = [query for (query,) in cursor.fetchall()]
        cursor.execute(
            "SELECT e.event_name, kv.key, kv.value FROM raw_events e CROSS JOIN LATERAL jsonb_each(e.properties) kv"
            " WHERE e.environment_id = %s AND e.type = 'custom' AND jsonb_typeof(kv.value) IN ('string', 'number')"
            " GROUP BY e.event_name, kv.key, kv.value HAVING count(*) >= 20 ORDER BY count(*) DESC, e.event_name, kv.key"
            " LIMIT 60",
            [environment_id],
        )
        pools["values"] = [(name, key, value) for name, key, value in cursor.fetchall()]
        pools["names"] = [
            (name, count, json.loads(p) if isinstance(p, str) else p) for name, count, p in cursor.fetchall()
        ]
    return pools


def _compound(element: dict, *, classes: int = 9) -> str:
    text = element.get("tag", "*")
    if element.get("id"):
        return f"{text}#{element['id']}"
    for name in element.get("classes", [])[:classes]:
        if ":" not in name and "/" not in name:  # tailwind's md:px-8 needs escaping: people leave them out
            text += f".{name}"
    return text


def _selectors(hierarchy: list[dict]) -> list[str]:
    """Ways people write a selector for this target: the suggested one first, then other spellings."""
    target = hierarchy[0]
    found = [suggested_selector(hierarchy)]
    plain = [c for c in target.get("classes", []) if ":" not in c and "/" not in c]
    if plain:
        found.append(f"{target.get('tag', '')}.{plain[-1]}")
        found.append(f".{plain[0]}" if len(plain) == 1 else f".{plain[0]}.{plain[1]}")
    for name, value in (target.get("attrs") or {}).items():
        if name.startswith("data-") and isinstance(value, str):
            found.append(f'{target.get("tag", "")}[{name}="{value}"]')
    if len(hierarchy) > 1:
        found.append(f"{_compound(hierarchy[1], classes=1)} > {_compound(target, classes=1)}")
    ancestor = next((a for a in hierarchy[2:] if a.get("id")), None)
    if ancestor is not None:
        found.append(f"#{ancestor['id']} {target.get('tag', '*')}")
    unique = []
    for selector in found:
        if selector and selector not in unique:
            unique.append(selector)
    return unique


def _wildcard(path: str) -> str | None:
    """/demo/blog/remote-retros/ -> /demo/blog/*: the section a page is in."""
    parts = path.rstrip("/").split("/")
    if len(parts) < 3:
        return None
    return "/".join(parts[:-1]) + "/*"


def _broad(pools: dict) -> list[tuple[str, list[dict]]]:
    """What a team defines first: its most used targets, pages, sections and custom events."""
    elements, pages, names = [], [], []
    seen: set[str] = set()
    for kind, hierarchy, text, _path, _href, _count in pools["elements"]:
        selector = suggested_selector(hierarchy) if hierarchy else ""
        if selector and (kind, selector) not in seen:
            seen.add((kind, selector))
            verb = {"click": "Clicked", "submit": "Submitted", "change": "Changed"}[kind]
            elements.append(
                (
                    f"{verb} {text or selector}",
                    [{"kind": kind, "conditions": [{"type": "selector", "value": selector}]}],
                )
            )
    for path, _count in pools["pages"][:8]:
        pages.append((f"Viewed {path}", [{"kind": "pageview", "conditions": [{"type": "path", "value": path}]}]))
    sections = []
    for path, _count in pools["pages"]:
        section = _wildcard(path)
        if section and section not in sections:
            sections.append(section)
            pages.append(
                (f"Viewed {section}", [{"kind": "pageview", "conditions": [{"type": "path", "value": section}]}])
            )
    for name, _count, _properties in pools["names"]:
        names.append((name, [{"kind": "custom", "event_name": name, "conditions": []}]))
    return _interleave([(elements[:14], 3), (pages, 1), (names, 1)])


def _narrow(pools: dict, rng: random.Random, spelling: int) -> list[tuple[str, list[dict]]]:
    """One definition per target on one page (its selector, text and path: one to three conditions),
    per landing page of a campaign, per custom event with a property value. `spelling` 0 uses the
    suggested selector and the text; 1 another spelling of the same target (a class, an attribute,
    a chain) on its page for one campaign's visitors."""
    elements = []
    campaigns = [_campaign(query) for query in pools["queries"]] or [""]
    for number, (kind, hierarchy, text, path, _href, _count) in enumerate(pools["elements"]):
        if not hierarchy:
            continue
        selectors = _selectors(hierarchy)
        verb = {"click": "Clicked", "submit": "Submitted", "change": "Changed"}[kind]
        if spelling == 0:
            conditions = [{"type": "selector", "value": selectors[0]}]
            if text:
                conditions.append({"type": "text", "op": "exact", "value": text})
            name = f"{verb} {text or selectors[0]} on {path or 'any page'}"
        else:  # the same target in another spelling, on its page, for visitors of one campaign
            selector = rng.choice(selectors[1:]) if len(selectors) > 1 else selectors[0]
            campaign = campaigns[number % len(campaigns)]
            conditions = [{"type": "selector", "value": selector}]
            if campaign:
                conditions.append({"type": "query", "value": campaign})
            name = f"{verb} {text or selector} on {path or 'any page'} from {campaign or 'anywhere'}"
        if path:
            conditions.append({"type": "path", "value": path})
        elements.append((name, [{"kind": kind, "conditions": conditions}]))
    pages = []
    for query in pools["queries"][spelling * 4 : spelling * 4 + 4]:
        pattern = _campaign(query)
        for path, _count in pools["pages"]:
            conditions = [{"type": "path", "value": path}, {"type": "query", "value": pattern}]
            pages.append((f"Landed on {path} from {pattern}", [{"kind": "pageview", "conditions": conditions}]))
    names = []
    for name, key, value in pools["values"][spelling::2]:
        condition = {"type": "property", "key": key, "op": "equals", "value": value}
        names.append((f"{name} ({key} {value})", [{"kind": "custom", "event_name": name, "conditions": [condition]}]))
    return _interleave([(elements, 4), (pages, 2), (names, 1)])


def _campaign(query: str) -> str:
    """A query pattern people match a campaign's visits with: `*utm_campaign=launch_week*`, else the query."""
    campaign = next((part for part in query.lstrip("?").split("&") if part.startswith("utm_campaign=")), None)
    return f"*{campaign}*" if campaign else query


def _interleave(streams: list[tuple[list, int]]) -> list:
    """Items of the streams, `share` of each in turn, until all are used."""
    out, positions = [], [0] * len(streams)
    while any(positions[i] < len(stream) for i, (stream, _) in enumerate(streams)):
        for i, (stream, share) in enumerate(streams):
            out += stream[positions[i] : positions[i] + share]
            positions[i] += share
    return out


def generate_definitions(environment_id: int, count: int, *, seed: int = 1) -> list[GeneratedDefinition]:
    """`count` definitions from the environment's raw events (see the module's docstring)."""
    pools = _pools(environment_id)
    rng = random.Random(seed)
    candidates = _broad(pools)[:25] + _narrow(pools, rng, 0) + _narrow(pools, rng, 1)
    ordered: list[tuple[str, list[dict]]] = []
    seen: set[str] = set()
    for name, groups in candidates:
        key = json.dumps(groups, sort_keys=True)
        if key not in seen:
            seen.add(key)
            ordered.append((name, groups))
    out: list[GeneratedDefinition] = []
    narrow = [groups for _, groups in ordered[25:]]
    while len(out) < count:
        number = len(out) + 1
        slot = number % 20
        if slot == 7 and number > 25:  # a combo of two or three earlier definitions
            members = rng.sample(range(26, number), min(number - 26, rng.choice([2, 3])))
            out.append(GeneratedDefinition(number, f"Combo {number}", [{"kind": "combo", "definitions": members}]))
            continue
        if slot == 13 and number > 25:  # two groups of different kinds ("signup intent")
            first, second = rng.sample(narrow, 2)
            out.append(GeneratedDefinition(number, f"Intent {number}", [first[0], second[0]]))
            continue
        if ordered:
            name, groups = ordered.pop(0)
        else:  # more definitions than the data has things: a target once more, on another page
            kind, hierarchy, text, _path, _href, _count = rng.choice(pools["elements"])
            page = rng.choice(pools["pages"])[0]
            name = f"{text or kind} on {page}"
            conditions = [
                {"type": "selector", "value": rng.choice(_selectors(hierarchy))},
                {"type": "path", "value": page},
            ]
            groups = [{"kind": kind, "conditions": conditions}]
        out.append(GeneratedDefinition(number, f"{name} #{number}", groups))
    return out


def compiled_specs(
    definitions: list[GeneratedDefinition], *, key_prefix: str, table_prefix: str
) -> list[EventTableSpec]:
    """EventTableSpecs for the sync, compiled by the definitions compiler (combos resolved by number)."""
    by_number = {d.number: d.groups for d in definitions}
    specs = []
    for d in definitions:
        predicate, params = compile_definition(
            d.groups, prefix=f"{table_prefix}{d.number}_", definition_id=d.number, resolve_combo=by_number.__getitem__
        )
        specs.append(
            EventTableSpec(
                key=f"{key_prefix}{d.number}",
                table_name=f"{table_prefix}{d.number}",
                predicate=predicate,
                params=params,
                # A changed definition (bench/sync_definitions.py edits one) is rebuilt.
                version=hashlib.sha256(json.dumps(d.groups, sort_keys=True).encode()).hexdigest()[:12],
                label=d.name[:200],
                event_types=definition_event_types(d.groups, resolve_combo=by_number.__getitem__),
                gates=definition_gates(d.groups, resolve_combo=by_number.__getitem__),
            )
        )
    return specs


def matched_rows(environment_id: int, specs: list[EventTableSpec]) -> int:
    """Rows the definitions' tables hold together (each evaluated alone): the sync's output size."""
    total = 0
    with connection.cursor() as cursor:
        for spec in specs:
            where = sql.SQL("e.environment_id = %(env)s AND ({})").format(spec.predicate)
            if spec.event_types:
                where += sql.SQL(" AND e.type IN ({})").format(sql.SQL(", ").join(map(sql.Literal, spec.event_types)))
            cursor.execute(
                sql.SQL("SELECT count(*) FROM raw_events e WHERE {}").format(where),
                {"env": environment_id, **spec.params},
            )
            total += cursor.fetchone()[0]
    return total
