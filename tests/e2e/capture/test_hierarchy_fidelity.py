"""Tricky markup round-trips: every tag, id, class and kept attribute exactly as the DOM has it."""

import json
import time

from tests.e2e.conftest import FakeSite
from warehouse.models import RawEvent

from .conftest import flush, open_page, shop_page
from .tricky_markup import BODY, EXPECTED_JS, expected_hierarchies, selector_mismatches

TARGETS = [
    "button",
    "buttonLabel",
    "svgPath",
    "svgUse",
    "foreign",
    "link",
    "bold",
    "unicode",
    "widget",
    "inner",
    "math",
    "namespaced",
    "empty",
    "input",
    "long",
    "section",
    "deep",
]


def test_describe_matches_the_dom_for_tricky_markup(page, site, collector):
    open_page(page, site.add("/tricky", shop_page(BODY, title="Tricky")))
    expected = expected_hierarchies(page, TARGETS)
    described = page.evaluate(
        "(names) => Object.fromEntries(names.map((name) => [name, heap._describe(window.tricky[name])]))", TARGETS
    )
    assert {name: d["hierarchy"] for name, d in described.items()} == expected
    assert selector_mismatches(page, expected) == {}
    for name, description in described.items():
        first = expected[name][0]
        assert description["target"]["tag"] == first["tag"]
        assert description["target"]["id"] == first.get("id", "")
        assert description["target"]["classes"] == first.get("classes", [])

    # What is sent is what _describe returns.
    click_all(page, TARGETS)
    flush(page)
    clicks = [event for event in collector.events if event["type"] == "click"]
    assert [click["hierarchy"] for click in clicks] == [expected[name] for name in TARGETS]


def click_all(page, names: list[str]) -> None:
    page.evaluate(
        """(names) => {
            for (const name of names) {
                window.tricky[name].dispatchEvent(new MouseEvent("click", {bubbles: true, cancelable: true}));
            }
        }""",
        names,
    )


def test_spot_checks_of_the_tricky_markup(page, site):
    open_page(page, site.add("/tricky", shop_page(BODY, title="Tricky")))
    button = page.evaluate("heap._describe(window.tricky.button)")
    assert button["hierarchy"][0] == {
        "tag": "button",
        "id": 'he said "hi"',
        "classes": ["btn", "btn-primary"],
        "attrs": {
            "class": "btn btn btn-primary",
            "type": "button",
            "title": "line one\nline two\ttabbed",
            "aria-label": 'Say "hi" — it\'s free',
            "data-ünï": "✓",
        },
    }
    assert button["hierarchy"][1]["classes"][:2] == ["hover:bg-red-500", "w-1/2"]
    assert button["hierarchy"][1]["attrs"] == {"data-testid": "section", "data-upper": "Kept Case"}
    assert button["target"]["text"] == "inside foreignObject Say hi"
    path = page.evaluate("heap._describe(window.tricky.svgPath).hierarchy.slice(0, 3)")
    assert [(entry["tag"], entry.get("ns")) for entry in path] == [("path", "svg"), ("g", "svg"), ("svg", "svg")]
    assert path[2]["attrs"]["viewBox"] == "0 0 24 24"
    foreign = page.evaluate("heap._describe(window.tricky.foreign).hierarchy.slice(0, 2)")
    assert foreign == [
        {"tag": "span", "classes": ["fo-label"]},
        {"tag": "foreignObject", "ns": "svg", "attrs": {"width": "10", "height": "10"}},
    ]
    use = page.evaluate("heap._describe(window.tricky.svgUse)")
    assert use["hierarchy"][0]["attrs"] == {"href": "#star-path"}  # and no Style, whatever its case
    assert use["hierarchy"][0]["ns_attrs"] == [{"ns": "xlink", "name": "xlink:href", "value": "#star-path"}]
    svg = use["hierarchy"][1]
    assert svg["ns_attrs"] == [{"ns": "xmlns", "name": "xmlns:xlink", "value": "http://www.w3.org/1999/xlink"}]
    namespaced = page.evaluate("heap._describe(window.tricky.namespaced).hierarchy[0]")
    assert namespaced == {
        "tag": "div",
        "id": "ns-host",
        "classes": ["nb\u00a0sp", "ideo\u3000space"],
        # On HTML elements the parser keeps xlink:href, xml:lang and xmlns as plain attributes.
        "attrs": {"xlink:href": "/plain", "xml:lang": "en", "xmlns": "urn:plain", "title": "plain title"},
        "ns_attrs": [
            {"ns": "urn:x", "name": "p:data-plan", "value": "namespaced"},
            {"ns": "urn:y", "name": "q:title", "value": "namespaced title"},
        ],
    }
    widget = page.evaluate("heap._describe(window.tricky.widget).hierarchy[0]")
    assert widget == {"tag": "my-widget", "id": "w1", "classes": ["widget"], "attrs": {"some-attr": "x"}}
    empty = page.evaluate("heap._describe(window.tricky.empty).hierarchy[0]")
    assert empty == {"tag": "div", "id": "", "attrs": {"class": "", "title": ""}}  # class="" matches [class]
    math = page.evaluate("heap._describe(window.tricky.math).hierarchy.slice(0, 2)")
    assert math == [
        {
            "tag": "mi",
            "ns": "math",
            "classes": ["math-var"],
            "ns_attrs": [{"ns": "xml", "name": "xml:lang", "value": "en"}],
        },
        {"tag": "math", "ns": "math", "attrs": {"display": "block"}},
    ]
    long = page.evaluate("heap._describe(window.tricky.long).hierarchy[0]")
    assert long == {"tag": "div", "id": "long", "attrs": {"data-long": "x" * 1024}, "truncated": True}
    link = page.evaluate("heap._describe(window.tricky.bold).target")
    assert link == {"tag": "b", "id": "", "classes": ["strong"], "text": "bold", "href": "/path?q=a%20b&x='y'#frag"}


def test_deeper_than_512_keeps_the_nearest_ancestors_then_body_and_html(page, site):
    open_page(page, site.add("/tricky", shop_page(BODY, title="Tricky")))
    element = page.evaluate_handle("document.getElementById('very-deep-root-leaf')")
    described = page.evaluate("(element) => heap._describe(element)", element)
    expected = page.evaluate(EXPECTED_JS, element)
    assert len(expected) > 600
    assert len(described["hierarchy"]) == 512
    assert described["hierarchy"] == expected[:510] + expected[-2:]


def test_stored_hierarchies_round_trip_exactly(page, live_server, transactional_db, make_environment):
    """Through the real endpoint into raw_events.hierarchy and back, compared with the DOM."""
    environment = make_environment("tricky", "production")
    # Served at the live server's origin: Chromium blocks a public page from posting to loopback.
    site = FakeSite(page.context, origin=live_server.url)
    config = {"endpoint": f"{live_server.url}/api/collect", "script": f"{live_server.url}/static/heap.js"}
    open_page(page, site.add("/tricky-page", shop_page(BODY, config=config, app_id=environment.app_id)))
    names = [*TARGETS, "veryDeep"]
    click_all(page, names)
    flush(page)
    deadline = time.monotonic() + 8
    while RawEvent.objects.filter(environment=environment, type="click").count() < len(names):
        assert time.monotonic() < deadline, "the clicks never landed"
        page.wait_for_timeout(50)

    expected = expected_hierarchies(page, names)
    key = lambda hierarchy: json.dumps(hierarchy, sort_keys=True, ensure_ascii=False)  # noqa: E731
    by_key = {key(hierarchy): name for name, hierarchy in expected.items()}
    rows = RawEvent.objects.filter(environment=environment, type="click")
    stored = {by_key.get(key(row.hierarchy), f"unexpected: {row.hierarchy[:2]}"): row for row in rows}
    assert sorted(stored) == sorted(names)
    # The browser's own selector engine agrees with every stored element.
    assert selector_mismatches(page, {name: row.hierarchy for name, row in stored.items()}) == {}
    for name, row in stored.items():
        first = expected[name][0]
        assert (row.target_tag, row.target_id, row.target_classes) == (
            first["tag"],
            first.get("id", ""),
            first.get("classes", []),
        )
