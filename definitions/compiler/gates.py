"""What a definition's events must have, per event type: a cheap per-row feature and its possible values.

The sync (warehouse/sql/sync.py, _matched_tables) tests each raw event only against the
definitions whose gate its features pass, instead of every definition of its type. A gate is a
promise, like EventTableSpec.event_types: on a raw event of type T, the predicate can only be true
when feature(e) is one of the values. Gates are necessary conditions read off the match groups
(an id in the target's selector, an exact text, a page path or the directory a wildcard stays
in, a custom event's name), never sufficient ones: the predicate still decides. A type without a
gate is evaluated on every event of that type, as before.

Features (their SQL is in warehouse/sql/sync.py, GATE_FEATURES):
- target_id, target_text, target_href, target_tag, path, event_name: that raw column;
- path_prefix_2, path_prefix_3: the path through its 2nd (3rd) `/`;
- target_class: one class the target has (a gate on it has exactly one value).
"""

import logging
from typing import Any

from .conditions import URL_FIELDS
from .css import parse_selector_list
from .definition import ComboResolver, expand_combos
from .selector_sql import CAMEL_CASE_FOREIGN_TAGS, ascii_lower

# Most selective first: the first feature every group of a type has is the type's gate.
FEATURES = (
    "target_id",
    "event_name",
    "target_text",
    "path",
    "target_href",
    "path_prefix_3",
    "path_prefix_2",
    "target_class",
    "target_tag",
)
PATH_PREFIX_DEPTHS = (2, 3)
logger = logging.getLogger(__name__)


def path_prefix(path: str, depth: int) -> str:
    """The `path_prefix_<depth>` feature of a path, as SQL computes it (split_part, not a regex)."""
    parts = (path.split("/") + [""] * depth)[:depth]
    return "/".join(parts) + "/"


def _selector_features(text: str) -> dict[str, set[str]]:
    features: dict[str, set[str]] = {}
    complexes = parse_selector_list(text)
    per_complex = []
    for complex_ in complexes:
        target = complex_.compounds[-1]
        found: dict[str, set[str]] = {}
        ids = set(target.ids)
        if len(ids) == 1:
            found["target_id"] = ids
        elif len(ids) > 1:
            return {}  # matches nothing; not worth a gate
        if target.tag is not None and ascii_lower(target.tag) not in CAMEL_CASE_FOREIGN_TAGS:
            found["target_tag"] = {ascii_lower(target.tag)}
        if target.classes:
            found["target_class"] = set(target.classes)
        per_complex.append(found)
    if not per_complex:
        return {}
    for feature in ("target_id", "target_tag"):
        if all(feature in found for found in per_complex):
            features[feature] = set().union(*(found[feature] for found in per_complex))
    # One class every alternative needs: a row's classes then reach the definition once.
    if all("target_class" in found for found in per_complex):
        common = set.intersection(*(found["target_class"] for found in per_complex))
        if common:
            features["target_class"] = {min(common)}
    return features


def _condition_features(condition: dict) -> dict[str, set[str]]:
    ctype, value = condition.get("type"), condition.get("value")
    if not isinstance(value, str):
        return {}
    if ctype == "selector":
        return _selector_features(value)
    if ctype in ("text", "href") and condition.get("op", "exact") == "exact":
        return {"target_text" if ctype == "text" else "target_href": {value}}
    if ctype == "path" and value:
        if "*" not in value:
            return {"path": {value}}
        literal = value[: value.index("*")]
        slashes = literal.count("/")
        return {
            f"path_prefix_{depth}": {path_prefix(literal, depth)} for depth in PATH_PREFIX_DEPTHS if slashes >= depth
        }
    return {}


def _group_features(group: dict) -> dict[str, set[str]]:
    features: dict[str, set[str]] = {}
    if group.get("kind") == "custom" and isinstance(group.get("event_name"), str):
        features["event_name"] = {group["event_name"]}
    for condition in group.get("conditions") or []:
        if not isinstance(condition, dict) or condition.get("type") not in ("selector", "text", "href", *URL_FIELDS):
            continue
        for feature, values in _condition_features(condition).items():
            # Conditions are AND-ed: each one's values are necessary; either set is a gate.
            features[feature] = features[feature] & values if feature in features else values
    return features


def definition_gates(
    groups: Any, *, resolve_combo: ComboResolver | None = None
) -> dict[str, tuple[str, tuple[str, ...]]]:
    """{event type: (feature, values)} for the types a gate is known for; {} when none.

    A combo's members are read through `resolve_combo` (without it, or when one cannot be
    resolved, a definition with a combo has no gates). Call it on groups that compile
    (compile_definition first): it does not validate them. Never raises: a gate is an
    optimization, and a definition without one is still synced (every event of its types tested).
    """
    try:
        return _gates(groups, resolve_combo)
    except Exception:
        logger.exception("no gates for a definition whose groups the gate reader did not expect")
        return {}


def _gates(groups: Any, resolve_combo: ComboResolver | None) -> dict[str, tuple[str, tuple[str, ...]]]:
    groups = expand_combos(groups, resolve_combo)
    if not groups:
        return {}
    by_type: dict[str, list[dict[str, set[str]]]] = {}
    for group in groups:
        by_type.setdefault(group.get("kind"), []).append(_group_features(group))
    gates: dict[str, tuple[str, tuple[str, ...]]] = {}
    for type_, found in by_type.items():
        for feature in FEATURES:
            if not all(feature in features for features in found):
                continue
            values = set().union(*(features[feature] for features in found))
            if feature == "target_class" and len(values) != 1:
                continue
            gates[type_] = (feature, tuple(sorted(values)))
            break
    return gates
