"""Definitions as a portable JSON document: export, import, copy between environments.

Combos refer to definitions by id inside an environment; in the document they refer by name, so
a file exported from one environment imports into another.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from warehouse.models import Environment
from warehouse.registry import event_table_changes_batched

from .models import Definition
from .services import DefinitionInvalid, definition_create, definition_update, reject_unstorable

FORMAT = "heapsite-definitions/1"


def _groups_by_name(groups: list[dict[str, Any]], names: dict[int, str]) -> list[dict[str, Any]]:
    out = []
    for group in groups:
        if group.get("kind") == "combo":
            group = {**group, "definitions": [names.get(i, i) for i in group.get("definitions", [])]}
        out.append(group)
    return out


def definition_document(definition: Definition, names: dict[int, str]) -> dict[str, Any]:
    return {
        "name": definition.name,
        "description": definition.description,
        "category": definition.category,
        "table_name": definition.table_name,
        "groups": _groups_by_name(definition.groups, names),
    }


def definitions_export(environment: Environment, ids: list[int] | None = None) -> dict[str, Any]:
    definitions = list(Definition.objects.filter(environment=environment).order_by("name"))
    names = {d.pk: d.name for d in definitions}
    chosen = [d for d in definitions if ids is None or d.pk in ids]
    return {
        "format": FORMAT,
        "environment": environment.warehouse_schema,
        "definitions": [definition_document(d, names) for d in chosen],
    }


def _order_for_combos(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Definitions a combo names come before the combo (a cycle is left for validation to report).

    Without recursion: a chain of 1,200 combos each naming the next overflowed Python's stack."""
    by_name = {item["name"]: item for item in items if isinstance(item.get("name"), str)}
    ordered: list[dict[str, Any]] = []
    entered: set[int] = set()
    for root in items:
        stack = [(root, False)]
        while stack:
            item, members_done = stack.pop()
            if members_done:
                ordered.append(item)
                continue
            if id(item) in entered:
                continue
            entered.add(id(item))
            stack.append((item, True))
            stack += [(by_name[ref], False) for ref in reversed(_combo_names(item)) if ref in by_name]
    return ordered


def _combo_names(item: dict[str, Any]) -> list[str]:
    """The definitions (by name) this item's combo groups list."""
    groups = item.get("groups")
    names = []
    for group in groups if isinstance(groups, list) else ():
        if isinstance(group, dict) and group.get("kind") == "combo" and isinstance(group.get("definitions"), list):
            names += [ref for ref in group["definitions"] if isinstance(ref, str)]
    return names


@transaction.atomic
def definitions_import(
    *, environment: Environment, document: Any, user: AbstractBaseUser | None = None
) -> list[Definition]:
    """Create (or update, by name) every definition of the document; all or nothing."""
    if not isinstance(document, dict) or not isinstance(document.get("definitions"), list):
        raise DefinitionInvalid({"file": 'Expected {"definitions": [...]} (an export of heapsite definitions)'})
    # Before any lookup by name: a NUL would otherwise reach the database as a query parameter.
    reject_unstorable(document, "")
    for index, item in enumerate(document["definitions"]):
        if not isinstance(item, dict):
            raise DefinitionInvalid({f"definitions[{index}]": "Each definition must be an object"})
    existing = {d.name.lower(): d for d in Definition.objects.filter(environment=environment)}
    saved: list[Definition] = []
    with event_table_changes_batched():  # one sync request for the whole import
        for item in _order_for_combos(document["definitions"]):
            definition = _import_one(environment, item, existing.get(_folded(item.get("name"))), user)
            existing[definition.name.lower()] = definition
            saved.append(definition)
    return saved


def _folded(name: Any) -> str | None:
    return name.lower() if isinstance(name, str) else None


def _import_one(
    environment: Environment, item: dict[str, Any], current: Definition | None, user: AbstractBaseUser | None
) -> Definition:
    """Create the document's definition `item`, or update `current` (the one of that name)."""
    name = item.get("name")
    groups = item.get("groups")
    if isinstance(groups, list):
        groups = [_resolve_combo_names(g, environment) for g in groups]
    fields = {"groups": groups, "description": item.get("description", ""), "category": item.get("category", "")}
    try:
        if current is not None:
            return definition_update(definition=current, user=user, **fields)
        return definition_create(environment=environment, name=name, user=user, **fields)
    except DefinitionInvalid as invalid:
        label = name if isinstance(name, str) else "A definition"
        raise DefinitionInvalid({f"{label} {key}": message for key, message in invalid.errors.items()}) from None


def _resolve_combo_names(group: Any, environment: Environment) -> Any:
    if not isinstance(group, dict) or group.get("kind") != "combo":
        return group
    if not isinstance(group.get("definitions"), list):
        return group  # validation names the problem
    refs = []
    for ref in group["definitions"]:
        if isinstance(ref, str):
            found = Definition.objects.filter(environment=environment, name__iexact=ref).values_list("pk", flat=True)
            if not found:
                raise DefinitionInvalid({"groups": f"The combo names {ref!r}, which is not defined here"})
            refs.append(found[0])
        else:
            refs.append(ref)
    return {**group, "definitions": refs}


def definitions_copy(
    *, source: Environment, target: Environment, ids: list[int], user: AbstractBaseUser | None = None
) -> list[Definition]:
    if not ids:
        raise DefinitionInvalid({"definition": "Choose at least one definition to copy"})
    document = definitions_export(source, ids)
    return definitions_import(environment=target, document=document, user=user)
