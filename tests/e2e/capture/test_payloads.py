"""What heap.js sends, checked against the /api/collect contract with the endpoint intercepted."""

import json

from .conftest import flush, open_page, shop_page

PRICING = """
<nav class="main-nav">
  <a class="nav-link" href="/blog/welcome?ref=nav" onclick="event.preventDefault()">Read the <em>blog</em></a>
</nav>
<section id="plans" class="plans grid md:grid-cols-3" data-section="pricing">
  <form id="pro-form" method="post" action="/signup">
    <button id="cta" class="btn btn-primary md:px-4" type="submit" data-plan="pro"
            aria-label='Start "Pro" trial' onclick="event.preventDefault()">
      <svg class="icon" viewBox="0 0 10 10"><path d="M0 0h10v10z"></path></svg>
      Start
         trial
    </button>
  </form>
</section>
"""


def test_pageview_carries_url_parts_title_referrer_and_session_data(page, site, collector):
    url = site.add("/pricing", shop_page(PRICING, title="Pricing"))
    referrer = "https://www.google.com/search?q=kanban+boards"
    open_page(
        page,
        f"{url}?utm_source=news&utm_medium=email&utm_campaign=fall&utm_term=t&utm_content=c#plans",
        referer=referrer,
    )
    flush(page)

    [request] = collector.requests
    assert request["content_type"].startswith("text/plain")  # no CORS preflight
    batch = request["body"]
    assert batch["app_id"] == "1234567890"
    assert batch["library"] == "web"
    assert batch["identity"] is None
    assert 0 < batch["user_id"] < 2**53
    assert isinstance(batch["sent_at"], int)
    session = batch["session"]
    assert 0 < session["id"] < 2**53
    assert session == {
        "id": session["id"],
        "start_time": session["start_time"],
        "referrer": referrer,
        "landing_page": "http://shop.test/pricing",
        "landing_page_query": "?utm_source=news&utm_medium=email&utm_campaign=fall&utm_term=t&utm_content=c",
        "landing_page_hash": "#plans",
        "search_keyword": "kanban boards",
        "utm_source": "news",
        "utm_medium": "email",
        "utm_campaign": "fall",
        "utm_term": "t",
        "utm_content": "c",
    }
    [pageview] = batch["events"]
    assert pageview == {
        "id": pageview["id"],
        "type": "pageview",
        "time": pageview["time"],
        "domain": "shop.test",
        "path": "/pricing",
        "query": "?utm_source=news&utm_medium=email&utm_campaign=fall&utm_term=t&utm_content=c",
        "hash": "#plans",
        "title": "Pricing",
        "referrer": referrer,
        "properties": {},
    }
    assert 0 < len(pageview["id"]) <= 64
    assert session["start_time"] == pageview["time"]


def forget_the_visitor(page, site, *, cookies: bool = True) -> None:
    """Clear the site's storage (and cookies) from a page without heap.js, as a browser's "clear
    site data" does: a page with heap.js would save its state again when it is left."""
    page.goto(site.add("/blank", "<!DOCTYPE html><title>blank</title>"))
    page.evaluate("localStorage.clear()")
    if cookies:
        page.context.clear_cookies()


def test_search_keyword_comes_from_known_search_engines_only(page, site, collector):
    url = site.add("/landing", shop_page("<p>x</p>"))
    referrers = {
        "https://www.bing.com/search?q=kanban+app&form=QBLH": "kanban app",
        "https://duckduckgo.com/?q=sprint%20planning": "sprint planning",
        "https://search.yahoo.com/search?p=retro+board": "retro board",
        "https://www.google.co.uk/search?q=boards": "boards",
        "https://news.example.com/?q=not+a+search+engine": "",
    }
    for referrer in referrers:
        forget_the_visitor(page, site)  # a new visitor each time, so a new session
        open_page(page, url, referer=referrer)
        flush(page)
    sessions = [(batch["session"]["referrer"], batch["session"]["search_keyword"]) for batch in collector.batches]
    assert sessions == list(referrers.items())


def test_click_sends_target_fields_and_the_hierarchy_in_the_documented_format(page, site, collector):
    url = site.add("/pricing", shop_page(PRICING, title="Pricing"))
    open_page(page, url)
    page.click("#cta", position={"x": 5, "y": 5})
    page.click("a.nav-link em")
    flush(page)

    click, link_click = [event for event in collector.events if event["type"] == "click"]
    assert click["target"] == {
        "tag": "button",
        "id": "cta",
        "classes": ["btn", "btn-primary", "md:px-4"],
        "text": "Start trial",
        "href": "",
    }
    assert click["hierarchy"] == [
        {
            "tag": "button",
            "id": "cta",
            "classes": ["btn", "btn-primary", "md:px-4"],
            "attrs": {"type": "submit", "data-plan": "pro", "aria-label": 'Start "Pro" trial'},
        },
        {"tag": "form", "id": "pro-form", "attrs": {"method": "post", "action": "/signup"}},
        {
            "tag": "section",
            "id": "plans",
            "classes": ["plans", "grid", "md:grid-cols-3"],
            "attrs": {"data-section": "pricing"},
        },
        {"tag": "body"},
        {"tag": "html", "attrs": {"lang": "en"}},
    ]
    assert {key: click[key] for key in ("domain", "path", "query", "hash", "title", "referrer", "properties")} == {
        "domain": "shop.test",
        "path": "/pricing",
        "query": "",
        "hash": "",
        "title": "Pricing",
        "referrer": "",
        "properties": {},
    }
    # The element clicked is the <em>; the href is the nearest link's, as written in the page.
    assert link_click["target"] == {
        "tag": "em",
        "id": "",
        "classes": [],
        "text": "blog",
        "href": "/blog/welcome?ref=nav",
    }
    assert [element["tag"] for element in link_click["hierarchy"]] == ["em", "a", "nav", "body", "html"]
    assert link_click["hierarchy"][1] == {
        "tag": "a",
        "classes": ["nav-link"],
        "attrs": {"href": "/blog/welcome?ref=nav"},
    }


def test_click_on_svg_inside_a_button_keeps_namespace_and_case(page, site, collector):
    url = site.add("/pricing", shop_page(PRICING))
    open_page(page, url)
    page.dispatch_event("#cta path", "click")
    flush(page)
    [click] = [event for event in collector.events if event["type"] == "click"]
    assert click["hierarchy"][:3] == [
        {"tag": "path", "ns": "svg", "attrs": {"d": "M0 0h10v10z"}},
        {"tag": "svg", "ns": "svg", "classes": ["icon"], "attrs": {"viewBox": "0 0 10 10"}},
        click["hierarchy"][2],
    ]
    assert click["hierarchy"][2]["id"] == "cta"
    assert click["target"] == {"tag": "path", "id": "", "classes": [], "text": "", "href": ""}


TEXTS = """
<button id="spaces" class="btn">  Save
   and   <span>continue</span>
</button>
<button id="hidden"><span style="display:none">secret hint</span>Visible <span hidden>no</span>label</button>
<button id="opted"><span class="heap-ignore">Dana's balance: $1,200</span>Pay now</button>
<div id="blocks"><p>First</p><p>Second</p>line<br>break</div>
<a id="long" href="/x">LONG</a>
<input id="submit-input" type="submit" value="Send it">
<input id="text-input" type="text" value="typed by a person">
"""


def test_text_is_trimmed_collapsed_visible_capped_and_never_a_value(page, site, collector):
    url = site.add("/texts", shop_page(TEXTS))
    open_page(page, url)
    page.evaluate("document.getElementById('long').textContent = 'é'.repeat(1500)")
    texts = page.evaluate(
        """() => Object.fromEntries(
            ['spaces', 'hidden', 'opted', 'blocks', 'long', 'submit-input', 'text-input']
              .map((id) => [id, heap._describe(document.getElementById(id)).target.text]))"""
    )
    assert texts == {
        "spaces": "Save and continue",
        "hidden": "Visible label",
        "opted": "Pay now",
        "blocks": "First Second line break",
        "long": "é" * 1024,
        "submit-input": "Send it",
        "text-input": "",
    }
    # _describe is exactly what a click sends.
    page.click("#spaces")
    flush(page)
    [click] = [event for event in collector.events if event["type"] == "click"]
    described = page.evaluate("heap._describe(document.getElementById('spaces'))")
    assert {"target": click["target"], "hierarchy": click["hierarchy"]} == described


ATTRS = """
<div id="" class=" lots  of   space " data-long="LONG" onclick="void 0" style="color: red" srcdoc="x"
     data-dup="1"><span class="a b a c b" title='say "hi"' data-empty="">x</span></div>
<input id="field" type="text" value="private" name="q" placeholder="Search…">
"""


def test_attribute_rules_ids_classes_and_truncation(page, site, collector):
    url = site.add("/attrs", shop_page(ATTRS))
    open_page(page, url)
    page.evaluate("document.querySelector('[data-long]').setAttribute('data-long', 'x'.repeat(1030))")
    span, div = page.evaluate("heap._describe(document.querySelector('span')).hierarchy.slice(0, 2)")
    assert span == {
        "tag": "span",
        "classes": ["a", "b", "c"],
        "attrs": {"class": "a b a c b", "title": 'say "hi"', "data-empty": ""},
    }
    assert div == {
        "tag": "div",
        "id": "",
        "classes": ["lots", "of", "space"],
        "attrs": {"class": " lots  of   space ", "data-long": "x" * 1024, "data-dup": "1"},
        "truncated": True,
    }
    [field] = page.evaluate("heap._describe(document.getElementById('field')).hierarchy.slice(0, 1)")
    assert field == {"tag": "input", "id": "field", "attrs": {"type": "text", "name": "q", "placeholder": "Search…"}}


FORM = """
<form id="signup" class="signup-form" action="/signup" method="post" onsubmit="event.preventDefault()">
  <input id="email" name="email" type="email" class="input">
  <input id="password" name="password" type="password" class="input">
  <select id="plan" name="plan"><option value="starter">Starter</option><option value="pro">Pro</option></select>
  <textarea id="about" name="about"></textarea>
  <label><input id="terms" type="checkbox" name="terms"> I agree</label>
  <div class="heap-ignore"><input id="promo" name="promo" type="text"></div>
  <button id="go" type="submit">Create account</button>
</form>
"""


def test_changes_and_submits_never_carry_values_or_password_fields(page, site, collector):
    url = site.add("/signup", shop_page(FORM, title="Sign up"))
    open_page(page, url)
    page.fill("#email", "alice.secret@example.com")
    page.fill("#password", "hunter2-password")
    page.select_option("#plan", "pro")
    page.fill("#about", "my private story")
    page.check("#terms")
    page.fill("#promo", "PROMO-CODE-42")
    page.click("#go")
    flush(page)

    events = collector.events
    kinds = [(event["type"], event.get("target", {}).get("id")) for event in events]
    assert kinds == [
        ("pageview", None),
        ("change", "email"),
        ("change", "plan"),
        ("change", "about"),
        ("click", "terms"),
        ("change", "terms"),
        ("click", "go"),
        ("submit", "signup"),
    ]
    everything = json.dumps(collector.batches)
    for secret in ("alice.secret", "hunter2", 'password"', "my private story", "PROMO", "promo"):
        assert secret not in everything
    change = events[2]
    assert change["target"] == {"tag": "select", "id": "plan", "classes": [], "text": "", "href": ""}
    submit = events[-1]
    assert submit["target"] == {
        "tag": "form",
        "id": "signup",
        "classes": ["signup-form"],
        "text": "I agree Create account",
        "href": "",
    }
    assert submit["hierarchy"][0]["attrs"] == {"action": "/signup", "method": "post"}


def test_single_page_app_navigation_records_pageviews(page, site, collector):
    app = """<a id="to-projects" href="/app/projects">Projects</a>
    <script>
      document.getElementById('to-projects').addEventListener('click', (event) => {
        event.preventDefault();
        history.pushState({}, '', '/app/projects?sort=new');
        document.title = 'Projects';
      });
    </script>"""
    url = site.add("/app", shop_page(app, title="Home"))
    open_page(page, url)
    page.click("#to-projects")
    page.wait_for_function("location.pathname === '/app/projects'")
    page.wait_for_timeout(20)
    page.evaluate("history.replaceState({step: 1}, '')")  # state only: no pageview
    page.evaluate("history.replaceState({}, '', '/app/projects?sort=old'); document.title = 'Projects (old)'")
    page.wait_for_timeout(20)
    page.evaluate("location.hash = '#archived'")
    page.wait_for_timeout(50)
    page.go_back()  # back to ?sort=old without the hash: popstate (and hashchange)
    page.wait_for_timeout(50)
    page.evaluate("history.pushState({}, '', '/app/projects?sort=old')")  # same URL: no pageview
    page.wait_for_timeout(50)
    flush(page)

    pageviews = [
        (event["path"], event["query"], event["hash"], event["title"], event["referrer"])
        for event in collector.events
        if event["type"] == "pageview"
    ]
    assert pageviews == [
        ("/app", "", "", "Home", ""),
        ("/app/projects", "?sort=new", "", "Projects", "http://shop.test/app"),
        ("/app/projects", "?sort=old", "", "Projects (old)", "http://shop.test/app/projects?sort=new"),
        ("/app/projects", "?sort=old", "#archived", "Projects (old)", "http://shop.test/app/projects?sort=old"),
        ("/app/projects", "?sort=old", "", "Projects (old)", "http://shop.test/app/projects?sort=old#archived"),
    ]
    # The click that navigated was recorded on the page it happened on.
    [click] = [event for event in collector.events if event["type"] == "click"]
    assert (click["path"], click["title"]) == ("/app", "Home")
    sessions = {batch["session"]["id"] for batch in collector.batches}
    assert len(sessions) == 1


def test_navigations_before_the_next_tick_each_record_their_own_url(page, site, collector):
    """Pageviews are recorded on the next tick (for the title apps set after pushState), each with
    the URL its navigation went to: two pushState calls in one task are two pageviews (a starved
    browser lost one in CI). A replaceState replaces a navigation not yet recorded (a router's
    redirect is one pageview), and one back to the page recorded last leaves nothing to record."""
    url = site.add("/app", shop_page("<p>app</p>", title="Home"))
    open_page(page, url)
    page.evaluate("history.pushState({}, '', '/app/a'); history.pushState({}, '', '/app/b'); document.title = 'B'")
    page.wait_for_timeout(50)
    page.evaluate("history.pushState({}, '', '/app/private'); history.replaceState({}, '', '/app/login')")
    page.wait_for_timeout(50)
    page.evaluate("history.pushState({}, '', '/app/x'); history.replaceState({}, '', '/app/login')")
    page.wait_for_timeout(50)
    flush(page)

    pageviews = [
        (event["path"], event["title"], event["referrer"]) for event in collector.events if event["type"] == "pageview"
    ]
    assert pageviews == [
        ("/app", "Home", ""),
        ("/app/a", "B", "http://shop.test/app"),
        ("/app/b", "B", "http://shop.test/app/a"),
        ("/app/login", "B", "http://shop.test/app/b"),
    ]


def test_a_navigation_in_the_pages_last_tick_leaves_with_it(page, site, collector):
    """A pushState right before the page goes (pagehide): its pageview is recorded and beaconed,
    not left to a tick that never comes."""
    url = site.add("/app", shop_page("<p>app</p>", title="Home"))
    open_page(page, url)
    page.evaluate("history.pushState({}, '', '/app/last'); window.dispatchEvent(new Event('pagehide'))")
    page.wait_for_timeout(100)
    paths = [event["path"] for event in collector.events if event["type"] == "pageview"]
    assert paths == ["/app", "/app/last"]


def test_api_track_identify_user_and_event_properties(page, site, collector):
    # Calls made right after the snippet, before heap.js arrives, are queued and kept.
    early = "<script>heap.addEventProperties({ab_test: 'b', logged_in: false}); heap.track('Early', {n: 1});</script>"
    url = site.add("/account", shop_page("<button id='b'>B</button>", head=early, title="Account"))
    open_page(page, url)
    page.evaluate("""() => {
        heap.track('Upgraded', {plan: 'pro', seats: 5, annual: true, nested: {a: 1}, skip: null});
        heap.identify('alice@example.com');
        heap.addUserProperties({plan: 'pro', seats: 5});
        heap.removeEventProperty('logged_in');
        heap.addEventProperties({ab_test: 'c'});
    }""")
    page.click("#b")
    page.evaluate("heap.clearEventProperties(); heap.track('Plain')")
    user_id = page.evaluate("heap.userId")
    page.evaluate("heap.resetIdentity(); heap.track('After reset')")
    flush(page)

    rows = [(batch["user_id"], batch["identity"], event) for batch in collector.batches for event in batch["events"]]
    summary = [
        (event["type"], event.get("name") or event.get("identity"), event.get("properties")) for _, _, event in rows
    ]
    assert summary == [
        ("pageview", None, {"ab_test": "b", "logged_in": False}),
        ("custom", "Early", {"ab_test": "b", "logged_in": False, "n": 1}),
        (
            "custom",
            "Upgraded",
            {"ab_test": "b", "logged_in": False, "plan": "pro", "seats": 5, "annual": True, "nested": '{"a":1}'},
        ),
        ("identify", "alice@example.com", None),
        ("user_properties", None, {"plan": "pro", "seats": 5}),
        ("click", None, {"ab_test": "c"}),
        ("custom", "Plain", {}),
        ("custom", "After reset", {}),
    ]
    identities = [(uid == user_id, identity) for uid, identity, _ in rows]
    assert identities == [(True, None)] * 3 + [(True, "alice@example.com")] * 4 + [(False, None)]
    identify = rows[3][2]
    assert set(identify) == {"id", "type", "time", "identity"}
    assert set(rows[4][2]) == {"id", "type", "time", "properties"}
    assert rows[0][2]["path"] == "/account"
    assert len({batch["session"]["id"] for batch in collector.batches}) == 2


def test_user_and_session_survive_page_loads_and_storage_loss(page, site, collector):
    # Each page flushes before leaving: beacons sent while a page unloads bypass Playwright's
    # routing (tests/e2e/capture/test_demo_site.py covers them against the real endpoint).
    url = site.add("/one", shop_page("<a id='next' href='/two'>Next</a>", title="One"))
    site.add("/two", shop_page("<p>two</p>", title="Two"))

    def loaded():
        page.wait_for_function("window.heap && window.heap._loaded === true")
        flush(page)
        return page.evaluate("heap.userId")

    open_page(page, url)
    user_id = loaded()
    page.click("#next")
    page.wait_for_url("**/two")
    assert loaded() == user_id
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}["_hs_1234567890"]
    assert cookie.split(".")[0] == str(user_id)
    # localStorage cleared (privacy tools do this): the first-party cookie keeps the user.
    forget_the_visitor(page, site, cookies=False)
    page.goto(site.origin + "/two")
    assert loaded() == user_id
    # Both gone: a new anonymous user.
    forget_the_visitor(page, site)
    page.goto(site.origin + "/two")
    assert loaded() != user_id

    pages = [
        (batch["user_id"] == user_id, batch["session"]["id"], event["path"], event["referrer"])
        for batch in collector.batches
        for event in batch["events"]
        if event["type"] == "pageview"
    ]
    assert [(same, path) for same, _, path, _ in pages] == [
        (True, "/one"),
        (True, "/two"),
        (True, "/two"),
        (False, "/two"),
    ]
    assert pages[0][1] == pages[1][1] == pages[2][1] != pages[3][1]  # one session until the user changed
    assert pages[1][3] == "http://shop.test/one"


def test_tabs_of_the_same_site_share_the_user_and_session(browser_context, site, collector):
    url = site.add("/page", shop_page("<button id='b'>B</button>"))
    first, second = browser_context.new_page(), browser_context.new_page()
    open_page(first, url)
    open_page(second, url)
    assert first.evaluate("heap.userId") == second.evaluate("heap.userId")
    # Logging out in one tab makes the other follow at its next event.
    second.evaluate("heap.identify('carol'); heap.resetIdentity()")
    new_user = second.evaluate("heap.userId")
    first.click("#b")
    assert first.evaluate("heap.userId") == new_user
    flush(first)
    flush(second)
    [click] = [batch for batch in collector.batches if batch["events"][0]["type"] == "click"]
    assert click["user_id"] == new_user
    assert click["identity"] is None


def test_a_new_session_starts_after_thirty_minutes_of_inactivity(page, site, collector):
    url = site.add("/page", shop_page("<button id='b'>B</button>"))
    open_page(page, url)
    page.click("#b")
    page.evaluate("heap._now = () => Date.now() + 29 * 60 * 1000")
    page.click("#b")  # 29 minutes later: same session
    page.evaluate("heap._now = () => Date.now() + 60 * 60 * 1000")
    page.click("#b")  # 31 minutes after that: a new one
    flush(page)

    clicks = [
        (batch["session"], event)
        for batch in collector.batches
        for event in batch["events"]
        if event["type"] == "click"
    ]
    sessions = [session["id"] for session, _ in clicks]
    assert sessions[0] == sessions[1] != sessions[2]
    new_session, third_click = clicks[2]
    assert new_session["start_time"] == third_click["time"]
    assert new_session["landing_page"] == "http://shop.test/page"
    # The new session outlives the page: the next page (its clock set before heap.js loads)
    # continues it.
    page.add_init_script("window.heap = Object.assign([], {_now: () => Date.now() + 61 * 60 * 1000})")
    page.reload()
    page.wait_for_function("window.heap && window.heap._loaded === true")
    flush(page)
    assert collector.events[-1]["type"] == "pageview"
    assert collector.batches[-1]["session"]["id"] == sessions[2]


def test_batches_by_count_and_timer(page, site, collector):
    config = {"batchSize": 5, "flushInterval": 100}
    url = site.add("/page", shop_page("<button id='b'>B</button>", config=config))
    open_page(page, url)
    flush(page)
    page.evaluate("for (let i = 0; i < 11; i++) heap.track('E' + i)")
    collector.wait_events(page, 12)  # 11 events: 5 and 5 at once, the last one on the timer
    assert [len(batch["events"]) for batch in collector.batches] == [1, 5, 5, 1]
    assert len({event["id"] for event in collector.events}) == 12


def test_retries_keep_event_ids_after_5xx_and_network_errors(page, site, collector):
    config = {"retryDelay": 20, "flushInterval": 20}
    collector.responses = [503, "abort", 500]
    url = site.add("/page", shop_page("<button id='b'>B</button>", config=config))
    open_page(page, url)
    collector.wait(page, lambda: len(collector.requests) == 4)
    ids = [[event["id"] for event in batch["events"]] for batch in collector.batches]
    assert len(ids[0]) == 1 and ids == [ids[0]] * 4
    assert [request["answered"] for request in collector.requests] == [503, "abort", 500, 200]
    # sent_at is stamped per attempt; the event times stay as recorded.
    assert collector.batches[0]["events"] == collector.batches[3]["events"]
    # A rejected batch (4xx) is not retried.
    collector.responses = [400]
    page.evaluate("heap.track('Bad'); heap._flush()")
    page.wait_for_timeout(200)
    assert [request["answered"] for request in collector.requests][-1] == 400
    assert len(collector.requests) == 5


def test_events_the_server_rejects_are_dropped_and_the_others_resent(page, site, collector):
    error = {"error": "invalid payload", "details": [{"field": "events[1].name", "message": "too long"}]}
    collector.responses = [200, (400, error)]
    open_page(page, site.add("/page", shop_page("<p>x</p>")))
    flush(page)
    page.evaluate("heap.track('A'); heap.track('B'); heap.track('C'); heap._flush()")
    collector.wait(page, lambda: len(collector.requests) == 3)
    sent = [[event.get("name") for event in batch["events"]] for batch in collector.batches]
    assert sent == [[None], ["A", "B", "C"], ["A", "C"]]
    page.wait_for_timeout(100)
    assert len(collector.requests) == 3


def test_a_failing_server_is_not_hammered(page, site, collector):
    collector.responses = ["abort"] * 100
    url = site.add("/page", shop_page("<p>x</p>", config={"flushInterval": 10, "retryDelay": 2000}))
    open_page(page, url)
    collector.wait(page, lambda: len(collector.requests) == 1)
    page.evaluate("""async () => {
        for (let index = 0; index < 5; index++) {
            heap.track('E' + index);
            await new Promise((resolve) => setTimeout(resolve, 30));
        }
    }""")
    assert len(collector.requests) == 1  # new events wait for the retry (due in 1 to 2 s)
    collector.responses = []
    events = collector.wait_events(page, 6)
    assert [event["type"] for event in events] == ["pageview"] + ["custom"] * 5
    assert len(collector.requests) <= 3


def test_server_down_leaves_the_host_page_quiet_and_working(page, site):
    # Nothing listens on 8139 (this helper's port range): every send fails.
    config = {"endpoint": "http://127.0.0.1:8139/api/collect", "retryDelay": 10, "flushInterval": 10}
    body = """<button id='b' onclick="document.getElementById('out').textContent = 'host code ran'">B</button>
              <p id='out'></p>"""
    url = site.add("/page", shop_page(body, config=config))
    open_page(page, url)
    page.click("#b")
    page.evaluate("heap.track('x', {a: 1}); heap.identify('bob'); heap._flush()")
    page.wait_for_timeout(300)
    assert page.text_content("#out") == "host code ran"
    assert page.errors.exceptions == []
    # Chromium itself logs each failed request (backoff keeps those few); heap.js logs nothing.
    refused = "Failed to load resource: net::ERR_CONNECTION_REFUSED"
    assert set(page.errors.console_errors) <= {refused}
    # Failed batches wait in localStorage for the next page.
    page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    pending = page.evaluate("JSON.parse(localStorage.getItem('_hs_1234567890_pending'))")
    assert [event["type"] for batch in pending for event in batch["events"]][:2] == ["pageview", "click"]


def test_failed_batches_are_resent_by_the_next_page(page, site, collector):
    config = {"retryDelay": 60000, "flushInterval": 10}
    collector.responses = ["abort"]
    url = site.add("/one", shop_page("<a id='next' href='/two'>Next</a>", config=config))
    site.add("/two", shop_page("<p>two</p>", config=config))
    open_page(page, url)
    collector.wait(page, lambda: len(collector.requests) == 1)
    first_id = collector.batches[0]["events"][0]["id"]
    page.click("#next")
    page.wait_for_url("**/two")
    collector.wait(page, lambda: any(event["id"] == first_id for event in collector.events))
    assert page.evaluate("localStorage.getItem('_hs_1234567890_pending')") is None
