import pytest

from definitions.models import Definition
from definitions.selectors import definition_event_tables, predicate_version, suggested_selector
from definitions.services import (
    DefinitionInvalid,
    definition_create,
    definition_delete,
    definition_rename,
    definition_restore,
    definition_update,
)
from warehouse import registry

CLICK_CTA = [{"kind": "click", "conditions": [{"type": "selector", "value": "#cta"}]}]
SIGNED_UP = [{"kind": "custom", "event_name": "Signed Up"}]


@pytest.fixture
def changes():
    seen: list[tuple[int, str, str]] = []

    def listener(*, environment_id, changes):
        seen.extend((environment_id, key, change) for key, change in changes)

    registry.register_table_change_listener(listener)
    yield seen
    registry._listeners.remove(listener)


def test_create_derives_a_table_name_versions_and_notifies(environment, changes, admin_user):
    definition = definition_create(environment=environment, name="Clicked: Sign up!", groups=CLICK_CTA, user=admin_user)
    assert definition.table_name == "clicked_sign_up"
    assert definition.kind == "click"
    (version,) = definition.versions.all()
    assert (version.number, version.summary, version.created_by) == (1, "Created", admin_user)
    assert changes == [(environment.pk, f"definition:{definition.pk}", "saved")]


@pytest.mark.parametrize(
    ("name", "table"),
    [
        ("Users", "users_2"),
        ("all events", "all_events_2"),
        ("3D view", "_3d_view"),
        ("¡¡¡", "event"),
        ("x" * 100, None),
    ],
)
def test_table_names_follow_the_warehouse_rules(environment, name, table):
    definition = definition_create(environment=environment, name=name, groups=CLICK_CTA)
    if table:
        assert definition.table_name == table
    assert len(definition.table_name.encode()) <= 63


def test_colliding_names_get_distinct_tables_and_edits_keep_them(environment):
    first = definition_create(environment=environment, name="Sign up", groups=CLICK_CTA)
    second = definition_create(environment=environment, name="sign-up", groups=CLICK_CTA)
    assert (first.table_name, second.table_name) == ("sign_up", "sign_up_2")
    definition_update(definition=first, groups=SIGNED_UP, description="now custom")
    first.refresh_from_db()
    assert first.table_name == "sign_up"


def test_duplicate_names_and_bad_groups_are_rejected(environment):
    definition_create(environment=environment, name="Sign up", groups=CLICK_CTA)
    with pytest.raises(DefinitionInvalid) as caught:
        definition_create(environment=environment, name="SIGN UP", groups=CLICK_CTA)
    assert "already has a definition named" in caught.value.errors["name"]
    with pytest.raises(DefinitionInvalid) as caught:
        definition_create(
            environment=environment,
            name="Bad",
            groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "a:hover"}]}],
        )
    assert caught.value.errors == {
        "groups[0].conditions[0]": "Pseudo-classes are not supported (':hover') at character 2"
    }
    with pytest.raises(DefinitionInvalid, match="needs a name"):
        definition_create(environment=environment, name="  ", groups=CLICK_CTA)
    assert Definition.objects.count() == 1


def test_rename_renames_the_table_and_edit_rebuilds(environment, changes):
    definition = definition_create(environment=environment, name="Sign up", groups=CLICK_CTA)
    changes.clear()
    definition_rename(definition=definition, name="Signed up (button)")
    assert definition.table_name == "signed_up_button"
    assert changes == [(environment.pk, definition.event_table_key, "renamed")]
    changes.clear()
    definition_update(definition=definition, groups=SIGNED_UP)
    assert changes == [(environment.pk, definition.event_table_key, "saved")]
    summaries = list(definition.versions.values_list("summary", flat=True))
    assert summaries == ["Changed 1 match group", "Renamed from 'Sign up' to 'Signed up (button)'", "Created"]


def test_saving_without_changes_keeps_no_version(environment, changes):
    definition = definition_create(environment=environment, name="Sign up", groups=CLICK_CTA)
    definition_update(definition=definition, groups=CLICK_CTA, name="Sign up")
    assert definition.versions.count() == 1
    assert len(changes) == 1


def test_restore_brings_back_an_old_version_as_a_new_one(environment):
    definition = definition_create(environment=environment, name="Sign up", groups=CLICK_CTA)
    definition_update(definition=definition, groups=SIGNED_UP, name="Signed up")
    definition_restore(definition=definition, number=1)
    definition.refresh_from_db()
    assert (definition.name, definition.groups, definition.table_name) == ("Sign up", CLICK_CTA, "sign_up")
    assert definition.versions.first().summary == "Restored version 1"
    with pytest.raises(DefinitionInvalid, match="no version 9"):
        definition_restore(definition=definition, number=9)


def test_combos_notify_with_their_parts_and_block_deleting_them(environment, changes):
    part = definition_create(environment=environment, name="CTA", groups=CLICK_CTA)
    combo = definition_create(environment=environment, name="Any", groups=[{"kind": "combo", "definitions": [part.pk]}])
    outer = definition_create(
        environment=environment, name="Outer", groups=[{"kind": "combo", "definitions": [combo.pk]}]
    )
    changes.clear()
    definition_update(definition=part, groups=[{"kind": "click", "conditions": [{"type": "selector", "value": ".x"}]}])
    assert {key for _, key, _ in changes} == {part.event_table_key, combo.event_table_key, outer.event_table_key}
    with pytest.raises(DefinitionInvalid, match="Used by the combo definition"):
        definition_delete(definition=part)
    with pytest.raises(DefinitionInvalid, match="cycle"):
        definition_update(definition=part, groups=[{"kind": "combo", "definitions": [outer.pk]}])
    changes.clear()
    key = outer.event_table_key
    definition_delete(definition=outer)
    assert changes == [(environment.pk, key, "deleted")]
    assert not Definition.objects.filter(name="Outer").exists()


def test_an_import_records_every_change_in_one_delivery_and_requests_one_sync(environment, changes):
    """An import of many definitions: each table's change is recorded, the listeners are called once,
    and one sync is queued (each save queued one before: minutes for 2,000 definitions)."""
    from definitions.portability import definitions_import
    from warehouse.models import SyncRun, TableChangeRequest

    deliveries = []

    def listener(*, environment_id, changes):
        deliveries.append(len(changes))

    registry.register_table_change_listener(listener)
    try:
        clicks = [
            {
                "name": f"Click {i}",
                "groups": [{"kind": "click", "conditions": [{"type": "selector", "value": f"#b{i}"}]}],
            }
            for i in range(30)
        ]
        both = {"name": "Both", "groups": [{"kind": "combo", "definitions": ["Click 1", "Click 2"]}]}
        definitions_import(environment=environment, document={"definitions": [both, *clicks]})
        assert deliveries == [31]
        assert len(changes) == TableChangeRequest.objects.filter(environment=environment).count() == 31
        assert SyncRun.objects.filter(environment=environment).count() == 1
        # Importing again changes nothing but the edited definition and the combo that includes it.
        changes.clear()
        clicks[1]["groups"] = CLICK_CTA
        definitions_import(environment=environment, document={"definitions": [both, *clicks]})
        combo = Definition.objects.get(environment=environment, name="Both")
        click = Definition.objects.get(environment=environment, name="Click 1")
        assert deliveries == [31, 2]
        assert sorted(key for _, key, _ in changes) == sorted([click.event_table_key, combo.event_table_key])
    finally:
        registry._listeners.remove(listener)


def test_combos_only_see_their_own_environment(environment, make_environment):
    other = make_environment(name="staging")
    foreign = definition_create(environment=other, name="CTA", groups=CLICK_CTA)
    with pytest.raises(DefinitionInvalid, match=f"no definition {foreign.pk} in this environment"):
        definition_create(environment=environment, name="Any", groups=[{"kind": "combo", "definitions": [foreign.pk]}])


def test_the_provider_hands_the_sync_one_spec_per_definition(environment):
    definition = definition_create(environment=environment, name="Sign up", groups=CLICK_CTA)
    (spec,) = [s for s in registry.event_tables_for(environment.pk) if s.key == definition.event_table_key]
    assert (spec.table_name, spec.label) == ("sign_up", "Sign up")
    assert all(name.startswith(f"d{definition.pk}_") for name in spec.params)
    assert spec.version == predicate_version(spec.predicate, dict(spec.params))
    before = spec.version
    definition_update(definition=definition, description="only words")
    assert definition_event_tables(environment.pk)[0].version == before
    definition_update(definition=definition, groups=SIGNED_UP)
    assert definition_event_tables(environment.pk)[0].version != before


@pytest.mark.parametrize(
    ("hierarchy", "selector"),
    [
        ([{"tag": "button", "id": "cta", "classes": ["btn"]}, {"tag": "body"}], "#cta"),
        (
            [{"tag": "a", "classes": ["btn", "md:px-4"]}, {"tag": "li"}, {"tag": "nav", "id": "main nav"}],
            "#main\\ nav a.btn.md\\:px-4",
        ),
        ([{"tag": "span"}, {"tag": "div", "id": "1x"}], "#\\31 x span"),
        ([{"tag": "foreignObject", "ns": "svg"}, {"tag": "body"}], "foreignobject"),
        ([{"tag": "li", "classes": ["item"]}, {"tag": "ul"}], "li.item"),
    ],
)
def test_suggested_selectors(hierarchy, selector):
    assert suggested_selector(hierarchy) == selector
