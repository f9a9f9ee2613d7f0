"""A person clicks around /demo/ in Chromium; the exact rows land in the raw store via /api/collect."""

import json
import time

import pytest

from demo.shop.posts import POSTS
from warehouse.identity import user_id_for_identity
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser

from .conftest import open_page

FIELDS = ("type", "path", "query", "hash", "title", "target_tag", "target_id", "target_text", "target_href")


@pytest.fixture
def demo(live_server, transactional_db, make_environment):
    environment = make_environment("main", "production")
    return live_server.url + "/demo/", environment


def wait_for_rows(page, environment, count: int, timeout: float = 20.0) -> list[RawEvent]:
    deadline = time.monotonic() + timeout
    while True:
        rows = list(RawEvent.objects.filter(environment=environment).order_by("time", "id"))
        if len(rows) >= count or time.monotonic() > deadline:
            return rows
        page.wait_for_timeout(50) if not page.is_closed() else time.sleep(0.05)


def summary(rows: list[RawEvent]) -> list[tuple]:
    return [tuple(getattr(row, field) for field in FIELDS) for row in rows]


def test_a_visit_to_the_demo_lands_as_exact_raw_rows(page, demo):
    base, environment = demo
    google = "https://www.google.com/search?q=team+boards"
    open_page(page, base + "?utm_source=newsletter&utm_campaign=launch", referer=google)
    page.click("#hero-cta")
    page.wait_for_url("**/demo/signup/?plan=pro")
    page.fill("#signup-name", "Alice Example")
    page.fill("#signup-email", "alice@example.com")
    page.fill("#signup-password", "correct horse battery")
    page.select_option("#signup-team-size", "11-50")
    page.fill("#signup-promo-code", "SECRET-PROMO")
    page.check("#signup-terms")
    page.click("#signup-submit")
    page.wait_for_url("**/demo/signup/welcome/")
    page.wait_for_function("window.heap && heap.identity === 'alice@example.com'")
    user_id = page.evaluate("heap.userId")
    page.click("#welcome-open-app")
    page.wait_for_url("**/demo/app/")
    page.click(".app-nav-link[href='/demo/app/boards/1']")
    page.wait_for_selector("#filter-mine")
    page.click("#filter-mine")
    page.wait_for_function("location.search === '?filter=mine'")
    page.click("#activity-tab")
    page.wait_for_function("location.hash === '#activity'")
    # heap.js reads a navigation's URL when its event (here hashchange) is handled: a back
    # navigation that lands before that (a starved browser) leaves no change to see. A person is
    # slower: wait for each pageview to land.
    assert len(wait_for_rows(page, environment, 20)) == 20
    page.go_back()
    page.wait_for_function("location.hash === ''")
    assert len(wait_for_rows(page, environment, 21)) == 21
    page.click(".app-nav-link[href='/demo/app/settings']")
    page.select_option("#settings-timezone", "Europe/Berlin")
    page.fill("#settings-new-password", "another secret pass")
    page.click("#copy-token")
    page.click("#settings-save")
    page.wait_for_selector("#settings-status:not([hidden])")
    assert page.errors.console_errors == []
    page.close()  # the last batch leaves with sendBeacon on pagehide

    expected = [
        (
            "pageview",
            "/demo/",
            "?utm_source=newsletter&utm_campaign=launch",
            "",
            "Acme Boards — plan work your team actually finishes",
            "",
            "",
            "",
            "",
        ),
        (
            "click",
            "/demo/",
            "?utm_source=newsletter&utm_campaign=launch",
            "",
            "Acme Boards — plan work your team actually finishes",
            "a",
            "hero-cta",
            "Start your free trial",
            "/demo/signup/?plan=pro",
        ),
        ("pageview", "/demo/signup/", "?plan=pro", "", "Sign up — Acme Boards", "", "", "", ""),
        ("change", "/demo/signup/", "?plan=pro", "", "Sign up — Acme Boards", "input", "signup-name", "", ""),
        ("change", "/demo/signup/", "?plan=pro", "", "Sign up — Acme Boards", "input", "signup-email", "", ""),
        ("change", "/demo/signup/", "?plan=pro", "", "Sign up — Acme Boards", "select", "signup-team-size", "", ""),
        ("click", "/demo/signup/", "?plan=pro", "", "Sign up — Acme Boards", "input", "signup-terms", "", ""),
        ("change", "/demo/signup/", "?plan=pro", "", "Sign up — Acme Boards", "input", "signup-terms", "", ""),
        (
            "click",
            "/demo/signup/",
            "?plan=pro",
            "",
            "Sign up — Acme Boards",
            "button",
            "signup-submit",
            "Create my account",
            "",
        ),
        (
            "submit",
            "/demo/signup/",
            "?plan=pro",
            "",
            "Sign up — Acme Boards",
            "form",
            "signup-form",
            "Full name Work email Password Team size Plan I accept the terms of service Create my account",
            "",
        ),
        ("pageview", "/demo/signup/welcome/", "", "", "Welcome — Acme Boards", "", "", "", ""),
        ("custom", "/demo/signup/welcome/", "", "", "Welcome — Acme Boards", "", "", "", ""),
        (
            "click",
            "/demo/signup/welcome/",
            "",
            "",
            "Welcome — Acme Boards",
            "a",
            "welcome-open-app",
            "Open your first board",
            "/demo/app/",
        ),
        ("pageview", "/demo/app/", "", "", "Dashboard — Acme Boards", "", "", "", ""),
        ("click", "/demo/app/", "", "", "Dashboard — Acme Boards", "a", "", "Website relaunch", "/demo/app/boards/1"),
        ("pageview", "/demo/app/boards/1", "", "", "Board: Website relaunch — Acme Boards", "", "", "", ""),
        (
            "click",
            "/demo/app/boards/1",
            "",
            "",
            "Board: Website relaunch — Acme Boards",
            "button",
            "filter-mine",
            "Only my cards",
            "",
        ),
        ("pageview", "/demo/app/boards/1", "?filter=mine", "", "Board: Website relaunch — Acme Boards", "", "", "", ""),
        (
            "click",
            "/demo/app/boards/1",
            "?filter=mine",
            "",
            "Board: Website relaunch — Acme Boards",
            "a",
            "activity-tab",
            "Activity",
            "#activity",
        ),
        (
            "pageview",
            "/demo/app/boards/1",
            "?filter=mine",
            "#activity",
            "Board: Website relaunch — Acme Boards",
            "",
            "",
            "",
            "",
        ),
        ("pageview", "/demo/app/boards/1", "?filter=mine", "", "Board: Website relaunch — Acme Boards", "", "", "", ""),
        (
            "click",
            "/demo/app/boards/1",
            "?filter=mine",
            "",
            "Board: Website relaunch — Acme Boards",
            "a",
            "",
            "Settings",
            "/demo/app/settings",
        ),
        ("pageview", "/demo/app/settings", "", "", "Settings — Acme Boards", "", "", "", ""),
        ("change", "/demo/app/settings", "", "", "Settings — Acme Boards", "select", "settings-timezone", "", ""),
        (
            "click",
            "/demo/app/settings",
            "",
            "",
            "Settings — Acme Boards",
            "button",
            "settings-save",
            "Save settings",
            "",
        ),
        (
            "submit",
            "/demo/app/settings",
            "",
            "",
            "Settings — Acme Boards",
            "form",
            "settings-form",
            "Display name Time zone Weekly email digest New password Save settings",
            "",
        ),
    ]
    rows = wait_for_rows(page, environment, len(expected))
    assert summary(rows) == expected

    # One anonymous user and one session for the whole visit; the browser's domain on every row.
    assert {row.user_id for row in rows} == {user_id}
    assert len({row.session_id for row in rows}) == 1
    assert {row.domain for row in rows} == {"127.0.0.1"}
    assert {row.library for row in rows} == {"web"}
    signed_up = rows[11]
    assert (signed_up.event_name, signed_up.properties) == ("Signed Up", {"plan": "pro"})
    cta = rows[1]
    assert cta.target_classes == ["btn", "btn-primary", "btn-lg", "md:px-8"]
    assert cta.hierarchy[0] == {
        "tag": "a",
        "id": "hero-cta",
        "classes": ["btn", "btn-primary", "btn-lg", "md:px-8"],
        "attrs": {"href": "/demo/signup/?plan=pro", "data-cta": "hero", "data-plan": "pro"},
    }
    assert [element["tag"] for element in cta.hierarchy] == ["a", "div", "section", "main", "body", "html"]
    assert cta.hierarchy[-1] == {"tag": "html", "attrs": {"lang": "en", "data-theme": "light"}}
    assert rows[15].referrer == base.rstrip("/") + "/app/"  # SPA pageview: the previous URL
    assert rows[0].referrer == google

    [session] = RawSession.objects.filter(environment=environment)
    assert (session.session_id, session.user_id) == (rows[0].session_id, user_id)
    assert (session.referrer, session.search_keyword) == (google, "team boards")
    assert (session.landing_page, session.landing_page_query) == (
        base,
        "?utm_source=newsletter&utm_campaign=launch",
    )
    assert (session.utm_source, session.utm_campaign, session.utm_medium) == ("newsletter", "launch", "")
    assert "Chrome" in session.browser  # parsed from the user agent

    identified = user_id_for_identity("alice@example.com")
    alice = RawUser.objects.get(environment=environment, user_id=identified)
    assert alice.identity == "alice@example.com"
    assert alice.properties == {"plan": "pro", "signed_up_from": "demo"}
    assert IdentityMerge.objects.filter(environment=environment, from_user_id=user_id, to_user_id=identified).exists()

    # Nothing typed into a field, and nothing under .heap-ignore, reached the database.
    stored = json.dumps(
        [
            list(RawEvent.objects.filter(environment=environment).values()),
            list(RawSession.objects.filter(environment=environment).values()),
            list(RawUser.objects.filter(environment=environment).values()),
        ],
        default=str,
    )
    for secret in (
        "Alice Example",
        "correct horse",
        "SECRET-PROMO",
        "another secret",
        "tok_live",
        "copy-token",
        "signup-password",
        "signup-promo",
        "Europe/Berlin",
        "11-50",
    ):
        assert secret not in stored


def test_a_new_session_starts_after_thirty_idle_minutes(page, demo):
    base, environment = demo
    open_page(page, base + "pricing/")
    page.check("#billing-yearly")
    user_id = page.evaluate("heap.userId")
    page.evaluate("heap._now = () => Date.now() + 31 * 60 * 1000")
    page.click("#faq-trial summary")
    page.evaluate("heap._flush()")

    rows = wait_for_rows(page, environment, 4)
    assert [(row.type, row.target_tag) for row in rows] == [
        ("pageview", ""),
        ("click", "input"),
        ("change", "input"),
        ("click", "summary"),
    ]
    assert {row.user_id for row in rows} == {user_id}
    first, second = rows[0].session_id, rows[3].session_id
    assert rows[1].session_id == rows[2].session_id == first != second
    sessions = {s.session_id: s for s in RawSession.objects.filter(environment=environment)}
    assert set(sessions) == {first, second}
    assert sessions[second].time > sessions[first].time
    assert sessions[second].landing_page == base + "pricing/"


def test_closing_the_page_sends_what_is_pending(page, demo):
    base, environment = demo
    open_page(page, base + f"blog/{POSTS[0].slug}/")
    page.evaluate("heap._flush()")
    wait_for_rows(page, environment, 1)
    # No timer will fire now: only the pagehide beacon can deliver the click.
    page.evaluate("heap.config.flushInterval = 10 * 60 * 1000")
    page.click("[data-share=copy]")
    page.close()
    rows = wait_for_rows(page, environment, 2)
    assert [(row.type, row.target_text) for row in rows] == [("pageview", ""), ("click", "Copy link")]
    assert rows[1].hierarchy[0] == {
        "tag": "button",
        "classes": ["btn", "btn-secondary", "btn-sm", "share-button"],
        "attrs": {"type": "button", "data-share": "copy"},
    }


def test_a_batch_sent_twice_is_stored_once(page, demo):
    # heap.js retries with the same event ids (test_payloads.py); the server writes each id once.
    base, environment = demo
    sent = []

    def keep_body(route):
        sent.append(route.request.post_data)
        route.continue_()

    page.route("**/api/collect", keep_body)
    open_page(page, base + "blog/")
    page.evaluate("heap.track('Read', {post: 'weekly-planning'}); heap._flush()")
    assert len(wait_for_rows(page, environment, 2)) == 2
    resend = (
        "(body) => fetch('/api/collect', {method: 'POST', body, headers: {'Content-Type': 'text/plain'}})"
        ".then((response) => response.status)"
    )
    page.unroute("**/api/collect")
    assert [page.evaluate(resend, body) for body in sent] == [200] * len(sent)
    rows = list(RawEvent.objects.filter(environment=environment).order_by("time"))
    assert [(row.type, row.event_name) for row in rows] == [("pageview", ""), ("custom", "Read")]
