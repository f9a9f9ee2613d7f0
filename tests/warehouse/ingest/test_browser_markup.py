"""/api/collect accepts what browsers produce (issue 26), and one bad event costs only itself.

HTML splits class lists on ASCII whitespace only, and attribute names may hold any other
character; SVG/MathML attributes in the XLink/XML/XMLNS namespaces travel in `ns_attrs`.
"""

import pytest

from warehouse.models import RawEvent, RawSession, RawUser

from .conftest import button_click, pageview


def click_with(event_id: str = "e-click-1", **element) -> dict:
    click = button_click(event_id)
    first = {"tag": "button", **element}
    click["hierarchy"][0] = first
    click["target"].update(tag="button", id=first.get("id", ""), classes=first.get("classes", []))
    return click


# Every Unicode space that is not HTML's ASCII whitespace is an ordinary character of a token.
NON_ASCII_SPACES = ["\u00a0", "\u3000", "\u2003", "\u200b", "\u000b", "\u0085", "\u2028", "\ufeff"]


@pytest.mark.parametrize("space", NON_ASCII_SPACES, ids=[f"U+{ord(ch):04X}" for ch in NON_ASCII_SPACES])
def test_class_tokens_and_attribute_names_split_only_on_ascii_whitespace(post, batch, space):
    token = f"btn{space}primary"
    click = click_with(classes=[token, "x"], attrs={f"data{space}x": "1", "aria-label": f"a{space}b"})
    response = post("/api/collect", batch(pageview(), click))
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True, "events": 2, "inserted": 2}
    row = RawEvent.objects.get(event_id="e-click-1")
    assert row.target_classes == [token, "x"]
    assert row.hierarchy[0]["attrs"] == {f"data{space}x": "1", "aria-label": f"a{space}b"}


@pytest.mark.parametrize("space", [" ", "\t", "\n", "\r", "\f"], ids=repr)
def test_ascii_whitespace_in_a_class_token_or_attribute_name_is_refused(post, batch, space):
    click = click_with(classes=[f"a{space}b"])
    named = click_with("e-click-2", attrs={f"data{space}x": "1"})
    response = post("/api/collect", batch(click, named))
    assert response.status_code == 400
    fields = [detail["field"] for detail in response.json()["details"]]
    assert "events[0].hierarchy[0].classes[0]" in fields
    assert any(field.startswith("events[1].hierarchy[0].attrs") for field in fields), fields
    assert all(field.startswith(("events[0]", "events[1]")) for field in fields), fields


def test_never_captured_attributes_are_refused_ascii_case_insensitively(post, batch):
    # The Kelvin sign folds to "k" in Unicode, not in ASCII: "data-\u212a" is an ordinary name.
    accepted = click_with("ok", attrs={"data-\u212a": "1", "\u017ftyle": "x"})
    refused = [click_with(f"no-{name}", attrs={name: "x"}) for name in ("Style", "VALUE", "SrcDoc", "onClick")]
    response = post("/api/collect", batch(accepted, *refused))
    assert response.status_code == 200, response.content
    reply = response.json()
    assert reply["rejected"] == [1, 2, 3, 4]
    assert all("never captured" in detail["message"] for detail in reply["details"])
    assert list(RawEvent.objects.values_list("event_id", flat=True)) == ["ok"]


def test_namespaced_attributes_are_stored_apart(post, batch):
    click = click_with(
        attrs={"xlink:href": "#plain-on-html"},
        ns_attrs=[
            {"ns": "xlink", "name": "xlink:href", "value": "#star"},
            {"ns": "xml", "name": "xml:lang", "value": "en"},
            {"ns": "xmlns", "name": "xmlns", "value": "http://www.w3.org/2000/svg"},
            {"ns": "urn:example", "name": "href", "value": "same local name, other namespace"},
        ],
    )
    response = post("/api/collect", batch(click))
    assert response.status_code == 200, response.content
    stored = RawEvent.objects.get().hierarchy[0]
    assert stored["attrs"] == {"xlink:href": "#plain-on-html"}
    assert [(a["ns"], a["name"]) for a in stored["ns_attrs"]] == [
        ("xlink", "xlink:href"),
        ("xml", "xml:lang"),
        ("xmlns", "xmlns"),
        ("urn:example", "href"),
    ]


@pytest.mark.parametrize(
    ("ns_attrs", "field", "message"),
    [
        ([{"ns": "xlink", "name": "xlink:href"}], "ns_attrs[0].value", "is required"),
        ([{"ns": "", "name": "a", "value": "v"}], "ns_attrs[0].ns", "must not be empty"),
        ([{"ns": "x", "name": "x:onclick", "value": "v"}], "ns_attrs[0].name", "never captured"),
        ([{"ns": "x", "name": "a b", "value": "v"}], "ns_attrs[0].name", "whitespace"),
        ([{"ns": "x", "name": "a", "value": "v" * 1025}], "ns_attrs[0].value", "the limit is 1024"),
        ([{"ns": "x", "name": "a", "value": "v", "extra": 1}], "ns_attrs[0].extra", "not a known field"),
        ([{"ns": "x", "name": "a", "value": "v"}] * 1001, "ns_attrs", "the limit is 1000"),
        ("xlink:href", "ns_attrs", "must be an array"),
    ],
)
def test_bad_namespaced_attributes_are_named(post, batch, ns_attrs, field, message):
    response = post("/api/collect", batch(click_with(ns_attrs=ns_attrs)))
    assert response.status_code == 400
    [detail] = response.json()["details"]
    assert detail["field"] == f"events[0].hierarchy[0].{field}"
    assert message in detail["message"]


def test_one_bad_event_costs_only_itself(post, batch):
    bad_tag = click_with("bad-tag")
    bad_tag["hierarchy"][0]["tag"] = ""
    bad_time = pageview("bad-time")
    bad_time["time"] = "yesterday"
    body = batch(pageview("pv-1"), bad_tag, button_click("good-click"), bad_time, pageview("pv-1"))
    response = post("/api/collect", body)
    assert response.status_code == 200, response.content
    reply = response.json()
    assert reply["ok"] is True
    assert (reply["events"], reply["inserted"]) == (2, 2)
    assert reply["rejected"] == [1, 3, 4]
    assert [detail["field"] for detail in reply["details"]] == [
        "events[1].hierarchy[0].tag",
        "events[3].time",
        "events[4].id",
    ]
    assert reply["details"][-1]["message"] == "repeats the id of events[0]"
    assert sorted(RawEvent.objects.values_list("event_id", flat=True)) == ["good-click", "pv-1"]
    assert RawSession.objects.count() == 1 and RawUser.objects.count() == 1


def test_a_batch_whose_every_event_is_bad_is_refused_whole(post, batch):
    bad = pageview("bad")
    bad["time"] = "never"
    response = post("/api/collect", batch(bad))
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "events[0].time", "message": "must be milliseconds since the epoch, not a string"}
    ]
    assert RawSession.objects.count() == 0 and RawUser.objects.count() == 0


def test_a_bad_batch_header_refuses_every_event(post, batch):
    body = batch(pageview("pv-1"), button_click("bad"))
    body["events"][1]["time"] = "x"
    body["session"]["id"] = -1
    response = post("/api/collect", body)
    assert response.status_code == 400
    assert [detail["field"] for detail in response.json()["details"]] == ["session.id"]
    assert RawEvent.objects.count() == 0


def test_rejected_details_are_capped_but_every_position_is_listed(post, batch, settings):
    settings.INGEST_MAX_BATCH = 1000
    events = [pageview(f"pv-{index}") for index in range(300)]
    for event in events[1:]:
        event["time"], event["title"] = "x", "a\x00"
    response = post("/api/collect", batch(*events))
    assert response.status_code == 200
    reply = response.json()
    assert reply["rejected"] == list(range(1, 300))
    assert len(reply["details"]) == 50
    assert list(RawEvent.objects.values_list("event_id", flat=True)) == ["pv-0"]
