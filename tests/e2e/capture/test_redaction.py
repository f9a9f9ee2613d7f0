"""heap.js redaction in Chromium: Heap's data-heap-redact-text / data-heap-redact-attributes markers
and disableTextCapture; and the demo's newsletter form, whose email never reaches the database."""

from django.db import connection

from warehouse.models import RawEvent

from .conftest import flush, open_page, shop_page
from .test_demo_site import demo, wait_for_rows  # noqa: F401 - the demo fixture

MARKED = """
<div id="account" data-heap-redact-text>
  <p>Balance of <span>alice@example.com</span></p>
  <button id="show" class="btn" type="button">Show alice@example.com</button>
  <input id="go" type="submit" value="Pay alice@example.com">
</div>
<section id="people" data-heap-redact-attributes="title, DATA-USER,href">
  <a id="profile" class="link" href="/u/alice?token=abc" title="Alice A." data-user="alice" data-kind="profile"
     onclick="event.preventDefault()"><em>Profile</em></a>
</section>
<div id="everything" data-heap-redact-attributes>
  <button id="all" class="x y" type="button" aria-label="Alice's card" data-card="4242">All</button>
</div>
<nav><button id="mixed" type="button"><span>Hello</span> <span data-heap-redact-text>Alice</span></button></nav>
"""


def click_events(page, collector, selectors: list[str]) -> list[dict]:
    for selector in selectors:
        # A click event on the element itself (a real click lands on whatever child is at its centre).
        page.dispatch_event(selector, "click")
    flush(page)
    events = collector.wait_events(page, 1 + len(selectors))
    return [event for event in events if event["type"] == "click"]


def test_redact_text_covers_the_element_and_everything_inside_it(page, site, collector):
    open_page(page, site.add("/account", shop_page(MARKED)))
    show, submit, inner, mixed = click_events(page, collector, ["#show", "#go", "#account span", "#mixed"])
    assert (show["target"]["text"], submit["target"]["text"], inner["target"]["text"]) == ("", "", "")
    assert mixed["target"]["text"] == "Hello"
    # The marker and the rest of the element stay, so definitions still find it.
    assert show["target"]["id"] == "show" and show["hierarchy"][1]["attrs"] == {"data-heap-redact-text": ""}
    assert "alice" not in str([show, submit, inner, mixed]).lower()


def test_redact_attributes_drops_the_listed_ones_on_the_element_and_its_children(page, site, collector):
    open_page(page, site.add("/people", shop_page(MARKED)))
    profile, nested, everything = click_events(page, collector, ["#profile", "#profile em", "#all"])
    assert profile["target"] == {"tag": "a", "id": "profile", "classes": ["link"], "text": "Profile", "href": ""}
    assert profile["hierarchy"][0] == {
        "tag": "a",
        "id": "profile",
        "classes": ["link"],
        "attrs": {"data-kind": "profile"},
    }
    assert profile["hierarchy"][1] == {
        "tag": "section",
        "id": "people",
        "attrs": {"data-heap-redact-attributes": "title, DATA-USER,href"},
    }
    assert nested["target"]["href"] == "" and nested["hierarchy"][1] == profile["hierarchy"][0]
    # An empty list: every attribute but id and class.
    assert everything["hierarchy"][0] == {"tag": "button", "id": "all", "classes": ["x", "y"]}
    assert "alice" not in str([profile, nested, everything]).lower() and "4242" not in str(everything)
    assert page.evaluate("heap._describe(document.querySelector('#all')).hierarchy[0]") == everything["hierarchy"][0]


def test_disable_text_capture_sends_no_text_at_all(page, site, collector):
    body = '<button id="buy" type="button">Buy for Alice</button><input id="go" type="submit" value="Go Alice">'
    open_page(page, site.add("/shop", shop_page(body, config={"disableTextCapture": True})))
    buy, go = click_events(page, collector, ["#buy", "#go"])
    assert (buy["target"]["text"], go["target"]["text"]) == ("", "")
    assert buy["target"]["id"] == "buy"


def test_the_demo_newsletter_email_never_reaches_the_database(page, demo):  # noqa: F811 - the fixture
    base, environment = demo
    open_page(page, base)
    page.fill("#newsletter-email", "nina.newsletter@example.com")
    page.click("#newsletter-submit")
    page.wait_for_selector("#newsletter-thanks")
    assert page.evaluate("location.search") == ""
    flush(page)
    rows = wait_for_rows(page, environment, 5)
    assert [row.type for row in rows] == ["pageview", "change", "click", "submit", "pageview"]
    assert (rows[-1].path, rows[-1].query, rows[-1].hash) == ("/demo/", "", "#newsletter")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM raw_events e WHERE e::text LIKE '%%nina%%'"
            " UNION ALL SELECT count(*) FROM raw_sessions s WHERE s::text LIKE '%%nina%%'"
        )
        assert [row[0] for row in cursor.fetchall()] == [0, 0]
    assert RawEvent.objects.filter(environment=environment, type="submit").get().target_id == "newsletter-form"
