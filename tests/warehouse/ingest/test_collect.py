"""POST /api/collect: what a heap.js batch leaves in the raw store."""

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory

from warehouse.identity import user_id_for_identity
from warehouse.ingest import views
from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser

from .conftest import button_click, now_ms, pageview, raw_counts

ANON = 4503599627370495
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


def at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def close_to(moment: datetime, expected: datetime, seconds: float = 2) -> bool:
    return abs((moment - expected).total_seconds()) < seconds


def test_batch_lands_in_users_sessions_and_events(post, batch, environment):
    body = batch()
    response = post("/api/collect", body)

    assert response.status_code == 200
    assert response.json() == {"ok": True, "events": 2, "inserted": 2}
    assert raw_counts() == {"users": 1, "sessions": 1, "events": 2, "merges": 0}

    user = RawUser.objects.get()
    assert (user.environment_id, user.user_id, user.identity, user.properties) == (environment.pk, ANON, None, {})
    assert close_to(user.joindate, at(body["session"]["start_time"]))

    session = RawSession.objects.get()
    assert session.session_id == 123456789012
    assert session.user_id == ANON
    assert (session.library, session.browser, session.platform, session.device_type) == (
        "web",
        "Chrome",
        "Mac OS X",
        "Desktop",
    )
    assert session.ip == "127.0.0.1"
    assert (session.country, session.region, session.city) == ("", "", "")
    assert session.referrer == "https://www.google.com/"
    assert session.landing_page == "https://shop.example/pricing"
    assert session.landing_page_query == "?utm_source=x"
    assert (session.utm_source, session.utm_campaign, session.utm_medium) == ("x", "spring", "")
    assert close_to(session.time, at(body["session"]["start_time"]))
    assert close_to(session.last_event_time, at(body["events"][1]["time"]))

    pageview_row, click_row = RawEvent.objects.order_by("id")
    assert pageview_row.id < click_row.id
    assert pageview_row.event_id == "e-pv-1"
    assert (pageview_row.type, pageview_row.domain, pageview_row.path, pageview_row.query) == (
        "pageview",
        "shop.example",
        "/pricing",
        "?utm_source=x",
    )
    assert (pageview_row.title, pageview_row.referrer, pageview_row.library) == (
        "Pricing",
        "https://www.google.com/",
        "web",
    )
    assert (pageview_row.hierarchy, pageview_row.target_tag, pageview_row.target_classes) == ([], "", [])
    assert click_row.type == "click"
    assert (click_row.user_id, click_row.session_id) == (ANON, 123456789012)
    assert (click_row.target_tag, click_row.target_id, click_row.target_classes) == (
        "button",
        "cta",
        ["btn", "md:px-4"],
    )
    assert (click_row.target_text, click_row.target_href, click_row.hash) == ("Start trial", "", "#top")
    assert click_row.hierarchy == body["events"][1]["hierarchy"]
    assert click_row.properties == {"plan": "pro", "seats": 3}
    assert close_to(click_row.time, at(body["events"][1]["time"]))
    assert close_to(click_row.received_at, datetime.now(UTC))


def test_custom_event_keeps_its_name_and_properties(post, batch):
    custom = {"id": "c1", "type": "custom", "time": now_ms(), "name": "Signed Up", "properties": {"plan": "pro"}}
    assert post("/api/collect", batch(custom)).status_code == 200
    row = RawEvent.objects.get()
    assert (row.type, row.event_name, row.properties) == ("custom", "Signed Up", {"plan": "pro"})


def test_client_clock_skew_is_corrected_by_sent_at(post, batch):
    # The browser's clock is an hour fast: every time moves back by the difference.
    body = batch()
    hour = 3600 * 1000
    body["sent_at"] += hour
    body["session"]["start_time"] += hour
    for event in body["events"]:
        event["time"] += hour
    assert post("/api/collect", body).status_code == 200
    click = RawEvent.objects.get(type="click")
    assert close_to(click.time, at(body["events"][1]["time"] - hour))
    assert close_to(RawSession.objects.get().time, at(body["session"]["start_time"] - hour))


def test_transit_time_is_not_taken_for_clock_skew(post, batch):
    # Sent 3 s before it arrived (a beacon held up while the next page loaded): the times stay as
    # recorded, so this batch's click still sorts before the next page's pageview.
    body = batch()
    for event in body["events"]:
        event["time"] -= 3000
    body["sent_at"] -= 3000
    assert post("/api/collect", body).status_code == 200
    click = RawEvent.objects.get(type="click")
    assert click.time == at(body["events"][1]["time"])


def test_no_event_time_lies_after_receipt(post, batch):
    body = batch()
    body["events"][0]["time"] = body["sent_at"] + 60_000  # an event "after" the batch was sent
    assert post("/api/collect", body).status_code == 200
    row = RawEvent.objects.get(type="pageview")
    assert row.time <= row.received_at


def test_no_corrected_time_lies_before_2000(post, batch):
    # sent_at at the end of 2099 and an event of 2000-01-02: the correction would carry it to 1926.
    body = batch()
    body["sent_at"] = int(datetime(2099, 12, 31, tzinfo=UTC).timestamp() * 1000)
    body["events"][0]["time"] = int(datetime(2000, 1, 2, tzinfo=UTC).timestamp() * 1000)
    assert post("/api/collect", body).status_code == 200
    assert RawEvent.objects.get(type="pageview").time == datetime(2000, 1, 1, tzinfo=UTC)
    assert RawSession.objects.get().time >= datetime(2000, 1, 1, tzinfo=UTC)


def test_a_timestamp_of_hundreds_of_digits_is_a_named_problem_not_a_500(post, batch):
    body = batch()
    body["events"][0]["time"] = 10**400
    response = post("/api/collect", body)
    assert response.status_code == 200, "one bad event does not lose the batch"
    assert response.json()["details"] == [{"field": "events[0].time", "message": "is after 2100-01-01"}]
    body = batch()
    body["sent_at"] = -(10**400)
    response = post("/api/collect", body)
    assert response.status_code == 400
    assert response.json()["details"][0]["field"] == "sent_at"


def test_retried_batch_writes_once(post, batch):
    body = batch()
    assert post("/api/collect", body).json()["inserted"] == 2
    retry = post("/api/collect", body)
    assert retry.status_code == 200
    assert retry.json() == {"ok": True, "events": 2, "inserted": 0}
    assert raw_counts() == {"users": 1, "sessions": 1, "events": 2, "merges": 0}


def test_later_batch_extends_the_session_and_keeps_its_start_data(post, batch):
    first = batch()
    assert post("/api/collect", first).status_code == 200
    later = batch(button_click("e-click-2", at=now_ms()))
    later["session"]["utm_source"] = "changed"
    later["session"]["landing_page"] = "https://shop.example/other"
    assert post("/api/collect", later, HTTP_USER_AGENT=IPHONE).status_code == 200

    session = RawSession.objects.get()
    assert (session.utm_source, session.landing_page, session.browser) == (
        "x",
        "https://shop.example/pricing",
        "Chrome",
    )
    assert close_to(session.last_event_time, at(later["events"][0]["time"]))
    assert RawEvent.objects.filter(session_id=session.session_id).count() == 3


def test_text_plain_beacon_is_accepted(post, batch):
    response = post("/api/collect", batch(), content_type="text/plain;charset=UTF-8")
    assert response.status_code == 200
    assert RawEvent.objects.count() == 2


def test_chunked_body_is_read(db, batch):
    request = RequestFactory().generic("POST", "/api/collect", HTTP_TRANSFER_ENCODING="chunked")
    request.META.pop("CONTENT_LENGTH", None)
    request.META["CONTENT_TYPE"] = "application/json"
    request.META["wsgi.input"] = io.BytesIO(json.dumps(batch()).encode())
    assert views.collect(request).status_code == 200
    assert RawEvent.objects.count() == 2


def test_cors_preflight_and_response_headers(client, post, batch):
    preflight = client.options(
        "/api/collect",
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    assert "content-type" in preflight["Access-Control-Allow-Headers"].lower()

    ok = post("/api/collect", batch(), HTTP_ORIGIN="https://shop.example")
    assert ok["Access-Control-Allow-Origin"] == "*"
    rejected = post("/api/collect", {"app_id": 1}, HTTP_ORIGIN="https://shop.example")
    assert rejected.status_code == 400
    assert rejected["Access-Control-Allow-Origin"] == "*"


def test_server_apis_are_not_open_to_browsers(client):
    preflight = client.options("/api/track", HTTP_ORIGIN="https://shop.example")
    assert preflight.status_code == 405
    assert not preflight.has_header("Access-Control-Allow-Origin")


def test_collect_needs_no_login_or_csrf_token(db, batch):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/api/collect", data=json.dumps(batch()), content_type="application/json")
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE, ("Mobile Safari", "iOS", "Mobile")),
        (IPAD, ("Mobile Safari", "iOS", "Tablet")),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", ("Googlebot", "", "Bot")),
        ("", ("", "", "")),
    ],
)
def test_user_agent_is_parsed(post, batch, user_agent, expected):
    assert post("/api/collect", batch(), HTTP_USER_AGENT=user_agent).status_code == 200
    session = RawSession.objects.get()
    assert (session.browser, session.platform, session.device_type) == expected


def test_forwarded_for_is_used_only_behind_a_trusted_proxy(post, batch, settings):
    assert post("/api/collect", batch(), HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 200
    assert RawSession.objects.get().ip == "127.0.0.1"

    settings.TRUSTED_PROXIES = ["127.0.0.0/8", "10.0.0.1"]
    body = batch()
    body["session"]["id"] += 1
    forwarded = "198.51.100.7, 203.0.113.9, 10.0.0.1"  # client, then a hop we do not trust, then ours
    assert post("/api/collect", body, HTTP_X_FORWARDED_FOR=forwarded).status_code == 200
    assert RawSession.objects.get(session_id=body["session"]["id"]).ip == "203.0.113.9"


def test_geoip_fills_country_region_city(post, batch, settings, tmp_path):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet(["127.0.0.0/8"]),
        {
            "country": {"names": {"en": "France"}},
            "subdivisions": [{"names": {"en": "Île-de-France"}}],
            "city": {"names": {"en": "Paris"}},
        },
    )
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    settings.GEOIP_DATABASE = str(path)

    assert post("/api/collect", batch()).status_code == 200
    session = RawSession.objects.get()
    assert (session.country, session.region, session.city) == ("France", "Île-de-France", "Paris")


def test_identity_in_the_batch_records_a_merge(post, batch):
    body = batch(identity="alice@example.com")
    assert post("/api/collect", body).status_code == 200
    alice = user_id_for_identity("alice@example.com")
    assert set(RawUser.objects.values_list("user_id", "identity")) == {(ANON, None), (alice, "alice@example.com")}
    merge = IdentityMerge.objects.get()
    assert (merge.from_user_id, merge.to_user_id) == (ANON, alice)
    # Raw events keep the anonymous id; the warehouse maps them through the merge.
    assert set(RawEvent.objects.values_list("user_id", flat=True)) == {ANON}


def test_identify_event_then_user_properties_go_to_the_identified_user(post, batch):
    start = now_ms() - 3000
    body = batch(
        pageview(at=start),
        {"id": "p0", "type": "user_properties", "time": start + 1, "properties": {"visits": 1}},
        {"id": "i1", "type": "identify", "time": start + 2, "identity": "bob@example.com"},
        {"id": "p1", "type": "user_properties", "time": start + 3, "properties": {"plan": "pro"}},
    )
    response = post("/api/collect", body)
    assert response.json() == {"ok": True, "events": 1, "inserted": 1}

    bob = user_id_for_identity("bob@example.com")
    assert RawUser.objects.get(user_id=ANON).properties == {"visits": 1}
    identified = RawUser.objects.get(user_id=bob)
    assert (identified.identity, identified.properties) == ("bob@example.com", {"plan": "pro"})
    merge = IdentityMerge.objects.get()
    assert (merge.from_user_id, merge.to_user_id) == (ANON, bob)
    assert close_to(merge.time, at(start + 2))
    assert RawEvent.objects.get().user_id == ANON


def test_user_properties_merge_across_batches(post, batch):
    first = batch({"id": "p1", "type": "user_properties", "time": now_ms(), "properties": {"a": 1, "b": "x"}})
    second = batch({"id": "p2", "type": "user_properties", "time": now_ms(), "properties": {"b": "y", "c": True}})
    assert post("/api/collect", first).status_code == 200
    assert post("/api/collect", second).status_code == 200
    assert RawUser.objects.get().properties == {"a": 1, "b": "y", "c": True}


def test_old_events_move_the_joindate_back(post, batch):
    assert post("/api/collect", batch()).status_code == 200
    early = now_ms() - 3 * 86400 * 1000
    body = batch(pageview("old", at=early))
    body["session"]["id"] = 42
    body["session"]["start_time"] = early
    assert post("/api/collect", body).status_code == 200
    assert close_to(RawUser.objects.get().joindate, at(early))
    assert RawUser.objects.get().joindate < datetime.now(UTC) - timedelta(days=2)


def test_events_of_another_environment_do_not_collide(post, batch, make_environment):
    other = make_environment(name="staging")
    assert post("/api/collect", batch()).status_code == 200
    body = batch()
    body["app_id"] = other.app_id
    response = post("/api/collect", body)
    assert response.json()["inserted"] == 2
    assert RawEvent.objects.filter(environment=other).count() == 2


def test_submit_and_change_events_and_an_element_directly_under_html(post, batch):
    submit = button_click("s1")
    submit["type"] = "submit"
    change = button_click("c1")
    change.update(type="change")
    change["target"] = {"tag": "select", "id": "", "classes": [], "text": "", "href": ""}
    change["hierarchy"] = [{"tag": "select", "attrs": {"name": "plan"}}, {"tag": "html"}]
    assert post("/api/collect", batch(submit, change)).status_code == 200
    rows = {row.type: row for row in RawEvent.objects.all()}
    assert rows["submit"].target_id == "cta"
    assert (rows["change"].target_tag, rows["change"].target_id, rows["change"].hierarchy) == (
        "select",
        "",
        [{"tag": "select", "attrs": {"name": "plan"}}, {"tag": "html"}],
    )


def test_unicode_is_stored_exactly(post, batch):
    click = button_click()
    click["target"]["text"] = click["title"] = "Démarrer l’essai 🚀"
    click["hierarchy"][0]["attrs"]["aria-label"] = 'Start "Pro" trial ✓'
    click["properties"] = {"plan ✓": "pro 🚀"}
    assert post("/api/collect", batch(click)).status_code == 200
    row = RawEvent.objects.get()
    assert (row.target_text, row.title) == ("Démarrer l’essai 🚀", "Démarrer l’essai 🚀")
    assert row.hierarchy[0]["attrs"]["aria-label"] == 'Start "Pro" trial ✓'
    assert row.properties == {"plan ✓": "pro 🚀"}


def test_values_exactly_at_the_limits_are_accepted(post, batch, settings):
    settings.INGEST_MAX_BATCH = 3
    custom = {"id": "i" * 64, "type": "custom", "time": now_ms(), "name": "n" * 1024}
    custom["properties"] = {"k" * 1024: "v" * 1024, "big": 2**63 - 1}
    identify = {"id": "x", "type": "identify", "time": now_ms(), "identity": "a" * 255}
    click = button_click()
    click["hierarchy"] = click["hierarchy"][:1] + [{"tag": "div"}] * 509 + click["hierarchy"][-2:]
    assert len(click["hierarchy"]) == 512
    response = post("/api/collect", batch(custom, identify, click))
    assert response.status_code == 200, response.content
    assert RawEvent.objects.get(type="custom").event_name == "n" * 1024
    assert len(RawEvent.objects.get(type="click").hierarchy) == 512


def test_user_agents_are_parsed_with_the_re2_engine():
    """ua-parser picks its fastest engine that is installed: RE2 (requirements.txt) parses a user agent
    it has not seen ~13x faster than the pure-Python one, with the same results."""
    import ua_parser
    import ua_parser.re2

    assert isinstance(getattr(ua_parser.parser.resolver, "parser", None), ua_parser.re2.Resolver)
