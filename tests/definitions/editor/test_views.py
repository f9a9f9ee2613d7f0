import json
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from definitions.compiler import parse_selector_list
from definitions.models import Definition
from definitions.services import definition_create
from warehouse.models import RawEvent

CTA = [{"kind": "click", "conditions": [{"type": "selector", "value": "#cta"}]}]


def add_event(environment, event_id, *, days_ago=0, **fields):
    now = timezone.now() - timedelta(days=days_ago)
    defaults = {"type": "click", "user_id": 1, "session_id": 1, "time": now, "received_at": now}
    return RawEvent.objects.create(environment=environment, event_id=event_id, **{**defaults, **fields})


@pytest.fixture
def clicks(environment):
    hierarchy = [
        {"tag": "button", "id": "cta", "classes": ["btn", "btn-primary"]},
        {"tag": "form", "id": "signup"},
        {"tag": "body"},
        {"tag": "html"},
    ]
    for i in range(3):
        add_event(
            environment,
            f"cta-{i}",
            days_ago=i,
            target_tag="button",
            target_id="cta",
            target_classes=["btn", "btn-primary"],
            target_text="Start trial",
            path="/pricing",
            hierarchy=hierarchy,
        )
    add_event(environment, "old", days_ago=40, target_tag="button", target_id="cta", hierarchy=hierarchy)
    add_event(
        environment,
        "link",
        target_tag="a",
        target_classes=["nav"],
        path="/",
        hierarchy=[{"tag": "a", "classes": ["nav"]}, {"tag": "body"}, {"tag": "html"}],
    )
    return environment


def url(environment, suffix=""):
    return f"/e/{environment.warehouse_schema}/definitions/{suffix}"


def test_list_shows_name_kind_table_and_matches_last_7_days(admin_client, clicks, django_assert_max_num_queries):
    definition_create(environment=clicks, name="Clicked CTA", groups=CTA, category="Signup")
    definition_create(
        environment=clicks,
        name="Nav",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "a.nav"}]}],
    )
    for i in range(5):  # more rows must not mean more queries
        definition_create(environment=clicks, name=f"Other {i}", groups=[{"kind": "custom", "event_name": f"e{i}"}])
    # 11 for the definitions, 4 for the events logged via the API (tests/warehouse/sync/test_api_event_pages.py)
    with django_assert_max_num_queries(15 + 4):
        response = admin_client.get(url(clicks))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Clicked CTA" in html and "clicked_cta" in html and "Signup" in html
    rows = {row.definition.name: row.matches_last_7_days for row in response.context["rows"]}
    assert rows == {"Clicked CTA": 3, "Nav": 1, **{f"Other {i}": 0 for i in range(5)}}


def test_create_from_the_form_then_edit_with_inline_errors(admin_client, clicks):
    response = admin_client.post(
        url(clicks, "new"),
        {"name": "Clicked CTA", "category": "", "description": "", "groups": json.dumps(CTA), "action": "save"},
    )
    definition = Definition.objects.get(name="Clicked CTA")
    assert response.status_code == 302 and response["Location"] == url(clicks, f"{definition.pk}/")
    bad = [{"kind": "click", "conditions": [{"type": "selector", "value": "button + a"}]}]
    response = admin_client.post(
        url(clicks, f"{definition.pk}/"), {"name": "Clicked CTA", "groups": json.dumps(bad), "action": "save"}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "The adjacent sibling combinator &#x27;+&#x27; is not supported at character 8" in body
    # Said where in words (not groups[0].conditions[0]), once, and handed to the form's script by its path.
    assert "<strong>Group 1, condition 1 (CSS selector)</strong>: The adjacent" in body
    assert "groups[0].conditions[0]</strong>" not in body
    assert body.count("is not supported at character 8") == 2  # the words list and the script's data, not the preview
    assert "Fix what is marked in the form to see the preview." in body
    assert '"groups[0].conditions[0]": "The adjacent' in body.replace("\\u0027", "'")
    definition.refresh_from_db()
    assert definition.groups == CTA


def test_a_new_definition_shows_no_error_before_anything_is_typed(admin_client, clicks):
    body = admin_client.get(url(clicks, "new")).content.decode()
    assert 'class="errorlist"' not in body and "The preview appears here as you edit." in body


def test_names_are_limited_and_the_limit_is_said(admin_client, clicks):
    response = admin_client.post(url(clicks, "new"), {"name": "x" * 300, "groups": json.dumps(CTA), "action": "save"})
    assert response.status_code == 400 and "The name is longer than 120 characters" in response.content.decode()
    assert not Definition.objects.exists()


def test_invalid_json_and_missing_name_are_shown_not_saved(admin_client, clicks):
    response = admin_client.post(url(clicks, "new"), {"name": "", "groups": "[{", "action": "save"})
    assert response.status_code == 400
    assert "The match groups are not valid JSON" in response.content.decode()
    response = admin_client.post(url(clicks, "new"), {"name": "", "groups": json.dumps(CTA), "action": "save"})
    assert "A definition needs a name" in response.content.decode()
    assert not Definition.objects.exists()


def test_preview_counts_per_day_and_samples(admin_client, clicks):
    response = admin_client.post(url(clicks, "preview"), {"groups": json.dumps(CTA)})
    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.total == 3  # the 40-day-old click is outside the window
    assert len(preview.days) == 30 and [n for _, n in preview.days[-3:]] == [1, 1, 1]
    assert {s["target_id"] for s in preview.samples} == {"cta"}
    html = response.content.decode()
    assert "<svg" in html and html.count("<rect") == 30
    assert "<strong>3 matching events</strong> in the last 30 days" in html


def test_preview_shows_what_an_edit_would_change(admin_client, clicks):
    definition = definition_create(environment=clicks, name="Clicked CTA", groups=CTA)
    wider = [{"kind": "click", "conditions": [{"type": "selector", "value": "#cta, a.nav"}]}]
    response = admin_client.post(url(clicks, "preview"), {"groups": json.dumps(wider), "definition": definition.pk})
    preview = response.context["preview"]
    assert (preview.total, preview.gained, preview.lost, preview.compared) == (4, 1, 0, True)
    assert "+1</span> gained" in response.content.decode()


def test_preview_of_an_invalid_definition_names_the_problem(admin_client, clicks):
    bad = [{"kind": "click", "conditions": [{"type": "text", "op": "regex", "value": "a{2,1}"}]}]
    response = admin_client.post(url(clicks, "preview"), {"groups": json.dumps(bad)})
    assert response.status_code == 400
    body = response.content.decode()
    assert "<strong>Group 1, condition 1 (target text)</strong>: Invalid regular expression" in body
    assert "data-errors=" in body  # the form's script marks the condition itself


def test_define_from_an_event_prefills_a_selector_that_matches_it(admin_client, clicks):
    event = RawEvent.objects.get(event_id="cta-0")
    response = admin_client.get(url(clicks, f"new?from_event={event.pk}"))
    assert response.status_code == 200
    data = response.context["data"]
    assert data["name"] == "Clicked Start trial"
    conditions = data["groups"][0]["conditions"]
    assert conditions[0] == {"type": "selector", "value": "#cta"}
    assert {"type": "path", "value": "/pricing"} in conditions
    parse_selector_list(conditions[0]["value"])
    response = admin_client.post(url(clicks, "preview"), {"groups": json.dumps(data["groups"])})
    assert response.context["preview"].total == 3
    missing = admin_client.get(url(clicks, "new?from_event=999999"))
    assert "There is no raw event" in missing.content.decode()


def test_history_and_restore(admin_client, clicks):
    definition = definition_create(environment=clicks, name="Clicked CTA", groups=CTA)
    admin_client.post(
        url(clicks, f"{definition.pk}/"), {"name": "Clicked the CTA", "groups": json.dumps(CTA), "action": "save"}
    )
    response = admin_client.get(url(clicks, f"{definition.pk}/history"))
    html = response.content.decode()
    assert "Renamed from &#x27;Clicked CTA&#x27; to &#x27;Clicked the CTA&#x27;" in html and "admin" in html
    response = admin_client.post(url(clicks, f"{definition.pk}/history/1/restore"))
    assert response.status_code == 302
    definition.refresh_from_db()
    assert (definition.name, definition.table_name) == ("Clicked CTA", "clicked_cta")


def test_delete(admin_client, clicks):
    definition = definition_create(environment=clicks, name="Clicked CTA", groups=CTA)
    response = admin_client.post(url(clicks, f"{definition.pk}/delete"))
    assert response.status_code == 302
    assert not Definition.objects.exists()


def test_export_import_and_copy_between_environments(admin_client, clicks, make_environment):
    part = definition_create(environment=clicks, name="Clicked CTA", groups=CTA)
    definition_create(environment=clicks, name="Any signup", groups=[{"kind": "combo", "definitions": [part.pk]}])
    exported = admin_client.get(url(clicks, "export")).json()
    assert [d["name"] for d in exported["definitions"]] == ["Any signup", "Clicked CTA"]
    assert exported["definitions"][0]["groups"] == [{"kind": "combo", "definitions": ["Clicked CTA"]}]

    staging = make_environment(name="staging")
    upload = SimpleUploadedFile("defs.json", json.dumps(exported).encode(), content_type="application/json")
    response = admin_client.post(url(staging, "import"), {"file": upload})
    assert response.status_code == 302
    imported = {d.name: d for d in Definition.objects.filter(environment=staging)}
    assert imported["Any signup"].groups == [{"kind": "combo", "definitions": [imported["Clicked CTA"].pk]}]

    dev = make_environment(name="dev")
    response = admin_client.post(url(clicks, "copy"), {"target": dev.warehouse_schema, "definition": [part.pk]})
    assert response.status_code == 302
    assert list(Definition.objects.filter(environment=dev).values_list("name", flat=True)) == ["Clicked CTA"]


def test_other_environments_definitions_are_not_reachable(admin_client, clicks, make_environment):
    other = make_environment(name="staging")
    foreign = definition_create(environment=other, name="Theirs", groups=CTA)
    assert admin_client.get(url(clicks, f"{foreign.pk}/")).status_code == 404
    assert admin_client.get("/e/nope/definitions/").status_code == 404


def test_login_is_required(client, clicks):
    response = client.get(url(clicks))
    assert response.status_code == 302 and "/login/" in response["Location"]
