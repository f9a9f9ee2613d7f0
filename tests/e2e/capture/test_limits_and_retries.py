"""heap.js never sends what /api/collect refuses, keeps batches within the browser's keepalive
budget in bytes, and no retry path can repeat the same failure (issue 26).

The endpoint is intercepted (the collector); every batch heap.js sent is then checked by the
server's own validator (`warehouse.ingest.payloads.collect_batch`).
"""

import json

from warehouse.ingest.payloads import collect_batch

from .conftest import COLLECT_URL, flush, open_page, shop_page

# Observes (never alters) what heap.js hands to fetch and sendBeacon: body bytes and keepalive.
SEND_LOG = """
(() => {
  const log = (entry) => {
    const entries = JSON.parse(localStorage.getItem("__sends") || "[]");
    entries.push(entry);
    localStorage.setItem("__sends", JSON.stringify(entries));
  };
  const bytes = (body) => (typeof body === "string" ? new TextEncoder().encode(body).length : -1);
  const originalFetch = window.fetch;
  window.fetch = function (url, init) {
    if (String(url).includes("/api/collect")) {
      log({kind: "fetch", keepalive: Boolean(init && init.keepalive), bytes: bytes(init && init.body)});
    }
    return originalFetch.apply(this, arguments);
  };
  const originalBeacon = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    const handed = originalBeacon(url, data);
    log({kind: "beacon", handed, bytes: bytes(data)});
    return handed;
  };
})();
"""


def sends(page) -> list[dict]:
    return page.evaluate("JSON.parse(localStorage.getItem('__sends') || '[]')")


HOSTILE = """
<div id="host" class="a&nbsp;b">host</div>
<div id="many">many</div>
<x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa id="long-tag">long tag</x-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa>
<script>
  const host = document.getElementById("host");
  host.setAttribute("data-nul", "a\\0b");
  host.setAttribute("data-lone", "a\\ud800b");
  host.className += " c\\udc00d \\ud83d\\ude80";
  for (const name of ["Style", "ONCLICK", "VaLuE", "SrcDoc", "ID"]) host.setAttributeNS(null, name, "x");
  host.setAttributeNS("urn:" + "m".repeat(2000), "m:x", "v");
  host.appendChild(document.createTextNode(" text\\0with nul \\udfff"));
  const many = document.getElementById("many");
  many.className = Array.from({length: 1100}, (_, i) => "c" + i).join(" ");
  for (let i = 0; i < 1100; i++) many.setAttribute("data-a" + i, "v");
  const weird = document.createElementNS("urn:" + "n".repeat(2000), "w");
  weird.id = "weird";
  weird.textContent = "weird";
  document.body.appendChild(weird);
  document.title = "title\\0nul";
</script>
"""


def test_nothing_heap_js_sends_is_refused_by_the_server(page, site, collector):
    open_page(page, site.add("/hostile", shop_page(HOSTILE)))
    page.evaluate("""() => {
        const many = Object.fromEntries(Array.from({length: 1500}, (_, i) => ["p" + i, i]));
        heap.addEventProperties(many);
        heap.track("name\\0", {"k\\0": "v\\0", big: 2 ** 64, low: -(2 ** 63) - 4096, ok: 2 ** 53, far: 1e300});
        heap.identify("bad\\0identity");
        heap.identify("lone \\ud800");
        heap.addUserProperties({"\\ud800": "x", plan: "pro\\0"});
        for (const id of ["host", "many", "long-tag", "weird"]) {
            document.getElementById(id).dispatchEvent(new MouseEvent("click", {bubbles: true}));
        }
        heap.identify("alice");
    }""")
    flush(page)
    # Batches may arrive out of order on a loaded machine: the events in the order they happened.
    events = sorted(collector.wait_events(page, 8), key=lambda event: event["time"])
    assert [event["type"] for event in events] == [
        "pageview",
        "custom",
        "user_properties",
        "click",
        "click",
        "click",
        "click",
        "identify",
    ]
    for batch in collector.batches:
        validated = collect_batch(batch, 1000)
        assert (validated.problems, validated.rejected) == ([], []), validated.details or validated.problems
    custom, user_properties, host, many, long_tag, weird = events[1:7]
    assert custom["name"] == "name\ufffd" and custom["properties"]["k\ufffd"] == "v\ufffd"
    assert (custom["properties"]["big"], custom["properties"]["low"]) == (
        "18446744073709552000",
        "-9223372036854780000",
    )
    assert (custom["properties"]["ok"], custom["properties"]["far"]) == (2**53, 1e300)
    assert len(custom["properties"]) == 1000
    assert user_properties["properties"] == {"\ufffd": "x", "plan": "pro\ufffd"}
    first = host["hierarchy"][0]
    # No Style, ONCLICK, VaLuE, SrcDoc or ID; the raw class is kept as its tokens were replaced.
    assert first["attrs"] == {"class": "a\u00a0b c\ufffdd \U0001f680", "data-nul": "a\ufffdb", "data-lone": "a\ufffdb"}
    assert first["classes"] == ["a\u00a0b", "c\ufffdd", "\U0001f680"] and first["truncated"] is True
    assert [(a["ns"][:6], a["name"]) for a in first["ns_attrs"]] == [("urn:mm", "m:x")]
    assert host["target"]["text"].startswith("host text\ufffdwith nul \ufffd")
    assert len(many["hierarchy"][0]["classes"]) == 1024 and len(many["hierarchy"][0]["attrs"]) == 1000
    assert many["hierarchy"][0]["truncated"] is True
    assert long_tag["target"]["tag"] == long_tag["hierarchy"][0]["tag"] == "x-" + "a" * 62
    assert len(weird["hierarchy"][0]["ns"]) == 1024
    assert "\x00" not in events[0]["title"]
    assert collector.batches[-1]["identity"] == "alice"
    assert all(batch["identity"] in (None, "alice") for batch in collector.batches)


CJK = "漢字かなカナ한국어" * 110  # 990 characters, 2,970 UTF-8 bytes


def cjk_page(count: int) -> str:
    buttons = "".join(
        f'<button id="b{i}" class="btn\u00a0primary card" data-label="{CJK[:300]}">{CJK} {i}</button>'
        for i in range(count)
    )
    return shop_page(buttons, title=CJK)


def test_batches_stay_within_the_keepalive_budget_in_bytes(page, site, collector):
    page.add_init_script(SEND_LOG)
    open_page(page, site.add("/cjk", cjk_page(40)))
    flush(page)
    page.evaluate("for (let i = 0; i < 40; i++) document.getElementById('b' + i).click()")
    flush(page)
    events = collector.wait_events(page, 41)
    clicks = [event for event in events if event["type"] == "click"]
    assert sorted(event["hierarchy"][0]["id"] for event in clicks) == sorted(f"b{i}" for i in range(40))
    assert len({event["id"] for event in events}) == 41  # each once
    assert clicks[0]["target"]["classes"] == ["btn\u00a0primary", "card"]
    logged = sends(page)
    assert sum(entry["bytes"] for entry in logged) > 250_000  # ~100 KB of text per 20 events
    assert all(entry["bytes"] <= 32_000 for entry in logged), logged
    assert all(request["answered"] == 200 for request in collector.requests)
    answered = [(len(request["body"]["events"]), request["answered"]) for request in collector.requests]
    assert len(collector.requests) == len(logged) >= 10, (logged, answered)


HOLD_URL = "http://hold.test/slow"


def test_a_keepalive_request_the_browser_refuses_is_retried_without_keepalive(page, site, collector):
    """Another script holds most of the page's 64 KiB keepalive quota: Chromium refuses heap.js's
    keepalive request (a network error to the page). The old heap.js resent it with keepalive
    again, for ever; now the retry goes without keepalive and lands once."""
    held = []
    page.context.route("http://hold.test/**", lambda route: held.append(route))  # never answered
    page.add_init_script(SEND_LOG)
    config = {"retryDelay": 20, "flushInterval": 10_000}
    open_page(page, site.add("/quota", shop_page(f"<p>{CJK}</p>", config=config)))
    hold = f"() => {{ fetch({json.dumps(HOLD_URL)}, {{method: 'POST', body: 'x'.repeat(63000), keepalive: true}}).catch(() => {{}}); }}"
    page.evaluate(hold)
    page.wait_for_timeout(50)
    page.evaluate(f"heap.track('Read', {{text: {json.dumps(CJK)}}}); heap._flush()")
    try:
        events = collector.wait_events(page, 2)
    finally:
        for route in held:
            route.abort()
    assert [event["type"] for event in events] == ["pageview", "custom"]
    attempts = [entry["keepalive"] for entry in sends(page)]
    assert attempts == [True, False], attempts  # refused once with keepalive, then sent without
    assert len(collector.requests) == 1 and len(held) == 1


def test_a_batch_too_large_for_the_server_is_halved_until_it_fits(page, site, collector):
    config = {"flushInterval": 10_000}
    collector.responses = [(413, {"error": "request body too large", "details": [{"field": "body"}]}), 413]
    open_page(page, site.add("/big", shop_page("<p>x</p>", config=config)))
    page.evaluate("for (let i = 0; i < 6; i++) heap.track('E' + i); heap._flush()")
    collector.wait(page, lambda: len(collector.events) == 7)
    sizes = [(len(request["body"]["events"]), request["answered"]) for request in collector.requests]
    assert sizes == [(7, 413), (4, 413), (3, 200), (2, 200), (2, 200)]
    assert sorted(event.get("name", "") for event in collector.events) == ["", "E0", "E1", "E2", "E3", "E4", "E5"]
    # More events than the server's INGEST_MAX_BATCH: a 400 naming `events` halves the batch too.
    too_many = {"error": "invalid payload", "details": [{"field": "events", "message": "has 4 items; the limit is 2"}]}
    collector.responses = [(400, too_many)]
    page.evaluate("for (let i = 0; i < 4; i++) heap.track('F' + i); heap._flush()")
    collector.wait(page, lambda: len(collector.events) == 11)
    assert [len(request["body"]["events"]) for request in collector.requests[5:]] == [4, 2, 2]


def test_a_single_event_the_server_refuses_is_dropped_without_a_loop(page, site, collector):
    open_page(page, site.add("/one", shop_page("<p>x</p>", config={"flushInterval": 10_000})))
    flush(page)
    collector.responses = [413]
    page.evaluate("heap.track('Huge'); heap._flush()")
    page.wait_for_timeout(300)
    assert [request["answered"] for request in collector.requests] == [200, 413]
    assert page.evaluate("localStorage.getItem('_hs_1234567890_pending')") is None
    assert COLLECT_URL.endswith("/api/collect")
