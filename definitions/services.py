"""Writes for event definitions. Every change is versioned and tells the sync which table needs work."""

import math
import operator
from functools import reduce
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q

from warehouse.apievents.selectors import api_event_table_names
from warehouse.ingest.validation import join_key, unstorable_character
from warehouse.models import Environment
from warehouse.naming import BUILTIN_TABLE_NAMES, unique_identifier
from warehouse.registry import TableChange, notify_event_table_changed

from .compiler import CompileError, compile_definition, definition_custom_event_name
from .compiler.postgres import postgres_regex_error
from .models import Definition, DefinitionVersion

# Long enough for any name people use; longer ones only stretched every page that lists them.
MAX_NAME = 120


class DefinitionInvalid(ValueError):
    """Bad input; `errors` maps a field ("name", "groups[0].conditions[1]", …) to its message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


def reject_unstorable(value: Any, path: str) -> None:
    """Raise DefinitionInvalid naming the first string, key or number PostgreSQL cannot store.

    jsonb and text refuse NUL and unpaired surrogates, and jsonb refuses NaN/Infinity (which the
    editor's JSON parser accepts): caught here, a save answers 400 instead of 500. Iterative, so
    however deep the JSON nests it cannot overflow the stack.
    """
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            found = unstorable_character(item)
            if found:
                index, what = found
                raise DefinitionInvalid(
                    {where: f"Contains {what} at character {index + 1}, which PostgreSQL cannot store"}
                )
        elif isinstance(item, float) and not math.isfinite(item):
            raise DefinitionInvalid({where: f"{item} is not a number PostgreSQL can store"})
        elif isinstance(item, dict):
            for key in item:
                found = unstorable_character(key) if isinstance(key, str) else None
                if found:
                    raise DefinitionInvalid({where: f"A key contains {found[1]}, which PostgreSQL cannot store"})
            stack += [(item[key], join_key(where, str(key))) for key in reversed(list(item))]
        elif isinstance(item, list):
            stack += [(item[i], f"{where}[{i}]") for i in reversed(range(len(item)))]


def combo_resolver(environment: Environment):
    """Looks up other definitions of the environment for combo groups."""
    cache: dict[int, list] = {}

    def resolve(definition_id: int) -> list[dict[str, Any]]:
        if definition_id not in cache:
            groups = (
                Definition.objects.filter(environment=environment, pk=definition_id)
                .values_list("groups", flat=True)
                .first()
            )
            if groups is None:
                raise CompileError(f"There is no definition {definition_id} in this environment")
            cache[definition_id] = groups
        return cache[definition_id]

    return resolve


def definition_check_groups(
    *, environment: Environment, groups: Any, definition_id: int | None = None, prefix: str = "v_"
) -> tuple[Any, dict[str, Any]]:
    """Compile `groups` (regexes checked by PostgreSQL); raises DefinitionInvalid naming the problem."""
    reject_unstorable(groups, "groups")
    try:
        return compile_definition(
            groups,
            prefix=prefix,
            definition_id=definition_id,
            resolve_combo=combo_resolver(environment),
            validate_regex=postgres_regex_error,
        )
    except CompileError as error:
        raise DefinitionInvalid({error.path or "groups": error.message}) from None
    except RecursionError:  # a safety net: the compiler bounds nesting itself
        raise DefinitionInvalid({"groups": "The definition is nested too deeply to compile"}) from None


def _clean_name(*, environment: Environment, name: Any, exclude_id: int | None) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DefinitionInvalid({"name": "A definition needs a name"})
    reject_unstorable(name, "name")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise DefinitionInvalid({"name": f"The name is longer than {MAX_NAME} characters"})
    clash = Definition.objects.filter(environment=environment, name__iexact=name).exclude(pk=exclude_id)
    if clash.exists():
        raise DefinitionInvalid({"name": f"This environment already has a definition named {name!r}"})
    return name


def _clean_text(value: Any, field_name: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise DefinitionInvalid({field_name: f"The {field_name} must be text"})
    if len(value) > limit:
        raise DefinitionInvalid({field_name: f"The {field_name} is longer than {limit} characters"})
    reject_unstorable(value, field_name)
    return value.strip()


def _table_name(*, environment: Environment, name: str, exclude_id: int | None, groups: Any) -> str:
    """A free table name: no other definition's, no API event's, except that a definition which is
    exactly one API event may share that event's name (docs/warehouse.md, "Definitions and API events")."""
    taken = set(
        Definition.objects.filter(environment=environment).exclude(pk=exclude_id).values_list("table_name", flat=True)
    )
    taken |= api_event_table_names(environment, sharing=definition_custom_event_name(groups))
    return unique_identifier(name, taken=taken, reserved=BUILTIN_TABLE_NAMES, empty="event")


def _lock(environment: Environment) -> None:
    # One definition write at a time per environment: table names and combo checks stay consistent.
    Environment.objects.select_for_update().filter(pk=environment.pk).first()


def _snapshot(definition: Definition, *, summary: str, user: AbstractBaseUser | None) -> DefinitionVersion:
    last = definition.versions.order_by("-number").values_list("number", flat=True).first() or 0
    return DefinitionVersion.objects.create(
        definition=definition,
        number=last + 1,
        name=definition.name,
        description=definition.description,
        category=definition.category,
        groups=definition.groups,
        table_name=definition.table_name,
        summary=summary[:300],
        created_by=user if user is not None and user.is_authenticated else None,
    )


def _dependents(definition: Definition) -> list[Definition]:
    """Combos that include this definition, directly or through other combos.

    One query per level of nesting, finding the combos that list a definition of the level (jsonb
    containment): loading every definition of the environment for each save made an import of
    2,000 definitions quadratic.
    """
    found: dict[int, Definition] = {}
    frontier = {definition.pk}
    while frontier:
        listing = reduce(
            operator.or_, (Q(groups__contains=[{"kind": "combo", "definitions": [pk]}]) for pk in sorted(frontier))
        )
        combos = Definition.objects.filter(listing, environment_id=definition.environment_id).exclude(
            pk__in=[definition.pk, *found]
        )
        frontier = set()
        for combo in combos:
            found[combo.pk] = combo
            frontier.add(combo.pk)
    return list(found.values())


def _notify(definition: Definition, change: TableChange) -> None:
    notify_event_table_changed(environment_id=definition.environment_id, key=definition.event_table_key, change=change)
    if change == "saved":
        for combo in _dependents(definition):
            notify_event_table_changed(environment_id=combo.environment_id, key=combo.event_table_key, change="saved")


def _check_dependents_compile(definition: Definition) -> None:
    """New groups can push a combo that includes this definition past the combo limits (depth): the
    save is refused (and rolled back) rather than leaving that combo unable to compile."""
    for combo in _dependents(definition):
        try:
            compile_definition(
                combo.groups, prefix="d_", definition_id=combo.pk, resolve_combo=combo_resolver(combo.environment)
            )
        except CompileError as error:
            message = f"The combo {combo.name!r} includes this definition and would no longer compile: {error}"
            raise DefinitionInvalid({"groups": message}) from None


def _user(user: AbstractBaseUser | None) -> AbstractBaseUser | None:
    return user if user is not None and user.is_authenticated else None


@transaction.atomic
def definition_create(
    *,
    environment: Environment,
    name: str,
    groups: list[dict[str, Any]],
    description: str = "",
    category: str = "",
    user: AbstractBaseUser | None = None,
) -> Definition:
    _lock(environment)
    name = _clean_name(environment=environment, name=name, exclude_id=None)
    description = _clean_text(description, "description", 5000)
    category = _clean_text(category, "category", 100)
    definition_check_groups(environment=environment, groups=groups)
    definition = Definition.objects.create(
        environment=environment,
        name=name,
        description=description,
        category=category,
        groups=groups,
        table_name=_table_name(environment=environment, name=name, exclude_id=None, groups=groups),
        updated_by=_user(user),
    )
    _snapshot(definition, summary="Created", user=user)
    _notify(definition, "saved")
    return definition


def _describe_group_change(old: list, new: list) -> str:
    if len(old) != len(new):
        return f"Changed match groups ({len(old)} → {len(new)})"
    changed = sum(1 for a, b in zip(old, new, strict=True) if a != b)
    return f"Changed {changed} match group{'s' if changed != 1 else ''}"


@transaction.atomic
def definition_update(
    *,
    definition: Definition,
    groups: list[dict[str, Any]] | None = None,
    name: str | None = None,
    description: str | None = None,
    category: str | None = None,
    user: AbstractBaseUser | None = None,
    summary: str | None = None,
) -> Definition:
    """Edit any of the fields; a new name renames the table, new groups rebuild it."""
    environment = definition.environment
    _lock(environment)
    definition.refresh_from_db()
    changes: list[str] = []
    renamed = False
    if name is not None:
        clean = _clean_name(environment=environment, name=name, exclude_id=definition.pk)
        if clean != definition.name:
            changes.append(f"Renamed from {definition.name!r} to {clean!r}")
            definition.name = clean
            table_name = _table_name(
                environment=environment,
                name=clean,
                exclude_id=definition.pk,
                groups=definition.groups if groups is None else groups,
            )
            renamed = table_name != definition.table_name
            definition.table_name = table_name
    saved = False
    if groups is not None:
        definition_check_groups(environment=environment, groups=groups, definition_id=definition.pk)
        if groups != definition.groups:
            changes.append(_describe_group_change(definition.groups, groups))
            definition.groups = groups
            saved = True
    if description is not None:
        clean = _clean_text(description, "description", 5000)
        if clean != definition.description:
            changes.append("Changed the description")
            definition.description = clean
    if category is not None:
        clean = _clean_text(category, "category", 100)
        if clean != definition.category:
            changes.append(f"Category {clean!r}" if clean else "Removed the category")
            definition.category = clean
    if not changes:
        return definition
    definition.updated_by = _user(user)
    definition.save()
    if saved:
        _check_dependents_compile(definition)
    _snapshot(definition, summary=summary or "; ".join(changes), user=user)
    # A rename only renames the table; new groups rebuild it (under its current name).
    if renamed:
        _notify(definition, "renamed")
    if saved:
        _notify(definition, "saved")
    return definition


@transaction.atomic
def definition_sync_set(*, definition: Definition, enabled: bool, user: AbstractBaseUser | None = None) -> Definition:
    """The "sync to warehouse" switch: off drops the table at the next sync, on rebuilds it from all history."""
    _lock(definition.environment)
    definition.refresh_from_db()
    if definition.sync_enabled == enabled:
        return definition
    definition.sync_enabled = enabled
    definition.save(update_fields=["sync_enabled"])
    _snapshot(definition, summary="Sync to warehouse turned " + ("on" if enabled else "off"), user=user)
    _notify(definition, "switched")
    return definition


def definition_rename(*, definition: Definition, name: str, user: AbstractBaseUser | None = None) -> Definition:
    return definition_update(definition=definition, name=name, user=user)


@transaction.atomic
def definition_delete(*, definition: Definition, user: AbstractBaseUser | None = None) -> None:
    _lock(definition.environment)
    users = [d.name for d in _dependents(definition) if _includes_directly(d, definition.pk)]
    if users:
        names = ", ".join(repr(n) for n in sorted(users))
        raise DefinitionInvalid({"definition": f"Used by the combo definition(s) {names}; remove it there first"})
    _notify(definition, "deleted")
    definition.delete()


def _includes_directly(combo: Definition, definition_id: int) -> bool:
    return any(definition_id in g.get("definitions", []) for g in combo.groups if g.get("kind") == "combo")


def definition_restore(*, definition: Definition, number: int, user: AbstractBaseUser | None = None) -> Definition:
    version = definition.versions.filter(number=number).first()
    if version is None:
        raise DefinitionInvalid({"version": f"There is no version {number}"})
    return definition_update(
        definition=definition,
        name=version.name,
        groups=version.groups,
        description=version.description,
        category=version.category,
        user=user,
        summary=f"Restored version {number}",
    )
