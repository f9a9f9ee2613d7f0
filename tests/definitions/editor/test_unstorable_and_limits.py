"""The editor and the JSON API never accept a definition that cannot be stored or compiled (issue 17).

NUL, unpaired surrogates and NaN anywhere in a definition get a 400 naming the field (PostgreSQL's
jsonb and text refuse them: before, the save answered 500); selectors past the compound limit and
combos past theirs get a positioned error instead of a RecursionError later.
"""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from definitions.compiler.css import MAX_COMPOUNDS, MAX_LIST
from definitions.compiler.definition import MAX_COMBO_DEPTH, MAX_COMBO_MEMBERS, MAX_SELECTOR_STEPS
from definitions.models import Definition, DefinitionVersion
from definitions.selectors import definition_compiled
from definitions.services import DefinitionInvalid, definition_create, definition_update

KEY = "test-server-key"
CTA = [{"kind": "click", "conditions": [{"type": "selector", "value": "#cta"}]}]
NUL = "\x00"


def click(condition: dict) -> list[dict]:
    return [{"kind": "click", "conditions": [condition]}]


# (definition fields, the field the error must name)
UNSTORABLE = {
    "name": ({"name": f"Sign{NUL}up", "groups": CTA}, "name"),
    "description": ({"name": "x", "groups": CTA, "description": f"a{NUL}"}, "description"),
    "category": ({"name": "x", "groups": CTA, "category": f"{NUL}"}, "category"),
    "selector": (
        {"name": "x", "groups": click({"type": "selector", "value": f"#cta{NUL}"})},
        "groups[0].conditions[0].value",
    ),
    "text": (
        {"name": "x", "groups": click({"type": "text", "op": "exact", "value": f"Buy{NUL}"})},
        "groups[0].conditions[0].value",
    ),
    "href regex": (
        {"name": "x", "groups": click({"type": "href", "op": "regex", "value": f"^/a{NUL}"})},
        "groups[0].conditions[0].value",
    ),
    "path": ({"name": "x", "groups": click({"type": "path", "value": f"/p{NUL}*"})}, "groups[0].conditions[0].value"),
    "domain": (
        {"name": "x", "groups": click({"type": "domain", "value": f"{NUL}.io"})},
        "groups[0].conditions[0].value",
    ),
    "query": ({"name": "x", "groups": click({"type": "query", "value": f"a={NUL}"})}, "groups[0].conditions[0].value"),
    "hash": ({"name": "x", "groups": click({"type": "hash", "value": f"#{NUL}"})}, "groups[0].conditions[0].value"),
    "property key": (
        {"name": "x", "groups": click({"type": "property", "key": f"pl{NUL}an", "op": "is_set"})},
        "groups[0].conditions[0].key",
    ),
    "property value": (
        {"name": "x", "groups": click({"type": "property", "key": "plan", "op": "equals", "value": f"p{NUL}"})},
        "groups[0].conditions[0].value",
    ),
    "custom event name": (
        {"name": "x", "groups": [{"kind": "custom", "event_name": f"Signed{NUL}Up", "conditions": []}]},
        "groups[0].event_name",
    ),
    "unknown key": ({"name": "x", "groups": [{"kind": "click", f"k{NUL}": 1}]}, "groups[0]"),
}


@pytest.fixture
def api(client, environment):
    base = f"/api/definitions/{environment.warehouse_schema}/"

    def call(method, suffix="", body=None):
        data = body if isinstance(body, str) else json.dumps(body)
        return getattr(client, method)(
            base + suffix, data=data, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {KEY}"
        )

    return call


@pytest.mark.parametrize(("fields", "field"), UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_the_api_refuses_a_nul_anywhere_naming_the_field(api, fields, field):
    response = api("post", body=fields)
    assert response.status_code == 400, response.content
    [detail] = response.json()["details"]
    assert detail["field"] == field
    assert "NUL byte" in detail["message"] and "PostgreSQL cannot store" in detail["message"]
    if "groups" in field:
        validation = api("post", "validate", body={"groups": fields["groups"]}).json()
        assert validation["valid"] is False and "NUL byte" in validation["errors"][field]
        assert api("post", "preview", body={"groups": fields["groups"]}).status_code == 400
    assert not Definition.objects.exists() and not DefinitionVersion.objects.exists()


def test_the_position_of_the_character_is_given(api):
    response = api("post", body={"name": "x", "groups": click({"type": "selector", "value": f"a.b{NUL}c"})})
    assert response.json()["details"][0]["message"] == (
        "Contains a NUL byte at character 4, which PostgreSQL cannot store"
    )


def test_unpaired_surrogates_and_nan_are_refused_too(api, environment):
    raw = json.dumps({"name": "x", "groups": click({"type": "text", "op": "exact", "value": "SURROGATE"})})
    response = api("post", body=raw.replace("SURROGATE", "ok\\udc00"))
    assert response.status_code == 400
    assert response.json()["details"][0] == {
        "field": "groups[0].conditions[0].value",
        "message": "Contains an unpaired UTF-16 surrogate at character 3, which PostgreSQL cannot store",
    }
    with pytest.raises(DefinitionInvalid) as caught:
        definition_create(
            environment=environment,
            name="n",
            groups=click({"type": "property", "key": "n", "op": "greater_than", "value": float("nan")}),
        )
    assert caught.value.errors == {"groups[0].conditions[0].value": "nan is not a number PostgreSQL can store"}


def test_an_edit_with_a_nul_keeps_the_saved_version(api, environment):
    definition = definition_create(environment=environment, name="CTA", groups=CTA)
    response = api("patch", f"{definition.pk}", body={"groups": click({"type": "selector", "value": NUL})})
    assert response.status_code == 400
    definition.refresh_from_db()
    assert definition.groups == CTA and definition.versions.count() == 1


@pytest.mark.parametrize(
    "definitions",
    [
        [1],
        ["x"],
        [{"name": ["a"], "groups": CTA}],
        [{"name": {"a": 1}, "groups": CTA}],
        [{"name": "Any", "groups": [{"kind": "combo", "definitions": 5}]}],
    ],
)
def test_a_malformed_import_is_a_named_400(api, environment, definitions):
    response = api("post", "import", body={"format": "heapsite-definitions/1", "definitions": definitions})
    assert response.status_code == 400, response.content
    assert response.json()["details"]
    assert not Definition.objects.exists()


def test_an_import_of_a_long_chain_of_combos_orders_it_without_recursion(api, environment):
    # 1,200 combos, each naming the next: ordered by recursion, it overflowed Python's stack (a 500).
    chain = [{"name": f"c{i}", "groups": [{"kind": "combo", "definitions": [f"c{i + 1}"]}]} for i in range(1200)]
    chain.append({"name": "c1200", "groups": CTA})
    response = api("post", "import", body={"format": "heapsite-definitions/1", "definitions": chain})
    assert response.status_code == 400  # deeper than combos may nest: named, not a crash
    assert f"at most {MAX_COMBO_DEPTH} levels deep" in json.dumps(response.json())
    assert not Definition.objects.exists()


def test_import_refuses_a_nul_before_looking_anything_up(api, environment):
    document = {
        "format": "heapsite-definitions/1",
        "definitions": [
            {"name": "CTA", "groups": CTA},
            {"name": "Any", "groups": [{"kind": "combo", "definitions": [f"CTA{NUL}"]}]},
        ],
    }
    response = api("post", "import", body=document)
    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "field": "definitions[1].groups[0].definitions[0]",
            "message": "Contains a NUL byte at character 4, which PostgreSQL cannot store",
        }
    ]
    assert not Definition.objects.exists()


def test_preview_names_a_definition_that_is_not_an_id(api):
    response = api("post", "preview", body={"groups": CTA, "definition": "1; DROP"})
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "definition"


def editor(environment, suffix=""):
    return f"/e/{environment.warehouse_schema}/definitions/{suffix}"


def test_the_editor_shows_the_problem_instead_of_failing(admin_client, environment):
    bad = click({"type": "selector", "value": f"#cta{NUL}"})
    for action in ("save", "preview"):
        response = admin_client.post(
            editor(environment, "new"), {"name": "CTA", "groups": json.dumps(bad), "action": action}
        )
        assert response.status_code == 400
        assert "Contains a NUL byte at character 5" in response.content.decode()
    response = admin_client.post(editor(environment, "preview"), {"groups": json.dumps(bad)})
    assert response.status_code == 400
    assert "Contains a NUL byte at character 5" in response.content.decode()
    response = admin_client.post(editor(environment, "new"), {"name": f"C{NUL}TA", "groups": json.dumps(CTA)})
    assert response.status_code == 400
    assert "Contains a NUL byte at character 2" in response.content.decode()
    assert not Definition.objects.exists()


def test_the_editor_survives_nan_deep_json_and_a_bad_definition_parameter(admin_client, environment):
    nan = '[{"kind": "click", "conditions": [{"type": "property", "key": "n", "op": "less_than", "value": NaN}]}]'
    response = admin_client.post(editor(environment, "new"), {"name": "N", "groups": nan, "action": "save"})
    assert response.status_code == 400 and "nan is not a number PostgreSQL can store" in response.content.decode()
    response = admin_client.post(editor(environment, "new"), {"name": "N", "groups": "[" * 100_000, "action": "save"})
    assert response.status_code == 400 and "nests too deeply" in response.content.decode()
    response = admin_client.post(editor(environment, "preview"), {"groups": json.dumps(CTA), "definition": "x²"})
    assert response.status_code == 404
    upload = SimpleUploadedFile("d.json", b"[" * 100_000, content_type="application/json")
    response = admin_client.post(editor(environment, "import"), {"file": upload}, follow=True)
    assert "nests too deeply" in response.content.decode()
    assert not Definition.objects.exists()


def test_the_199_compound_selector_gets_a_positioned_error_everywhere(api, admin_client, environment):
    selector = " ".join(["a"] * 199)
    groups = click({"type": "selector", "value": selector})
    message = (
        f"Too many steps: a selector can chain at most {MAX_COMPOUNDS} compound selectors (elements joined by"
        f" combinators) at character {2 * MAX_COMPOUNDS + 1}"
    )
    assert api("post", body={"name": "Deep", "groups": groups}).json()["details"] == [
        {"field": "groups[0].conditions[0]", "message": message}
    ]
    assert api("post", "validate", body={"groups": groups}).json()["errors"] == {"groups[0].conditions[0]": message}
    response = admin_client.post(editor(environment, "preview"), {"groups": json.dumps(groups)})
    assert response.status_code == 400 and "Too many steps" in response.content.decode()
    # The longest accepted chain saves and previews.
    longest = click({"type": "selector", "value": " ".join(["a"] * MAX_COMPOUNDS)})
    assert api("post", body={"name": "Deepest", "groups": longest}).status_code == 201
    assert api("post", "preview", body={"groups": longest}).status_code == 200
    assert admin_client.get(editor(environment)).status_code == 200


def test_selectors_that_would_compile_to_megabytes_are_refused_by_name(api):
    # 818 copies of `a b c` in 4 kB compiled to 1 MB of SQL; 50 such conditions took a preview 120 s
    # and 2.3 GB, and once saved, 45 s of every sync of the environment.
    listed = ",".join(["a b c"] * (MAX_LIST + 1))
    details = api("post", body={"name": "Wide", "groups": click({"type": "selector", "value": listed})}).json()
    assert details["details"][0]["field"] == "groups[0].conditions[0]"
    assert f"Too many selectors: a list holds at most {MAX_LIST}" in details["details"][0]["message"]
    many = [{"type": "selector", "value": ",".join(["a b c"] * MAX_LIST)}] * 3  # 288 steps
    details = api("post", body={"name": "Many", "groups": [{"kind": "click", "conditions": many}]}).json()
    assert details["details"] == [
        {
            "field": "groups",
            "message": f"The definition's selectors have 288 compound selectors in all; the limit is {MAX_SELECTOR_STEPS}",
        }
    ]
    fits = [{"type": "selector", "value": ",".join(["a b c"] * MAX_LIST)}] * 2  # 192 steps
    assert api("post", body={"name": "Fits", "groups": [{"kind": "click", "conditions": fits}]}).status_code == 201
    assert not Definition.objects.filter(name__in=["Wide", "Many"]).exists()


def combo(*ids: int) -> list[dict]:
    return [{"kind": "combo", "definitions": list(ids)}]


def test_combos_nest_at_most_the_limit(environment):
    previous = definition_create(environment=environment, name="level 0", groups=CTA)
    for level in range(1, MAX_COMBO_DEPTH + 1):
        previous = definition_create(environment=environment, name=f"level {level}", groups=combo(previous.pk))
    with pytest.raises(DefinitionInvalid) as caught:
        definition_create(environment=environment, name="too deep", groups=combo(previous.pk))
    assert caught.value.errors == {
        "groups[0].definitions[0]": f"Combos can include combos at most {MAX_COMBO_DEPTH} levels deep"
    }


def test_an_edit_that_would_push_a_combo_past_the_limit_is_refused(environment):
    leaf = definition_create(environment=environment, name="leaf", groups=CTA)
    chain = [leaf]
    for level in range(1, MAX_COMBO_DEPTH + 1):
        chain.append(definition_create(environment=environment, name=f"level {level}", groups=combo(chain[-1].pk)))
    other = definition_create(environment=environment, name="other", groups=CTA)
    with pytest.raises(DefinitionInvalid) as caught:
        definition_update(definition=leaf, groups=combo(other.pk))
    assert "The combo 'level 10' includes this definition and would no longer compile" in caught.value.errors["groups"]
    leaf.refresh_from_db()
    assert leaf.groups == CTA and leaf.versions.count() == 1


def test_a_diamond_of_combos_compiles_each_definition_once(environment):
    # Each level includes the previous one twice over: 2**10 copies without de-duplication.
    left = definition_create(environment=environment, name="l0", groups=CTA)
    right = definition_create(environment=environment, name="r0", groups=click({"type": "selector", "value": ".x"}))
    for level in range(1, MAX_COMBO_DEPTH):
        left, right = (
            definition_create(environment=environment, name=f"l{level}", groups=combo(left.pk, right.pk)),
            definition_create(environment=environment, name=f"r{level}", groups=combo(right.pk, left.pk, left.pk)),
        )
    predicate, params = definition_compiled(right)
    assert repr(predicate).count("e.type = ") == 2


def test_a_combo_lists_at_most_the_limit(environment):
    part = definition_create(environment=environment, name="CTA", groups=CTA)
    definition_create(environment=environment, name="ok", groups=combo(*[part.pk] * MAX_COMBO_MEMBERS))
    with pytest.raises(DefinitionInvalid, match=f"at most {MAX_COMBO_MEMBERS} definitions"):
        definition_create(environment=environment, name="too many", groups=combo(*[part.pk] * (MAX_COMBO_MEMBERS + 1)))
