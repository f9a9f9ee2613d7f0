import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from definitions.browse import selectors
from definitions.services import definition_create
from warehouse.models import IdentityMerge, RawEvent, RawUser

from .conftest import DEMO_END, SCHEMA

ROW_RE = re.compile(r'<tr class="event-row type-(\w+)" data-id="(\d+)">')


def rows(response) -> list[tuple[str, int]]:
    return [(kind, int(event_id)) for kind, event_id in ROW_RE.findall(response.content.decode())]


def older_link(response) -> str | None:
    match = re.search(r'<a class="button" href="\?([^"]+)" rel="next">Older', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def newest_first(environment, ids):
    times = dict(RawEvent.objects.filter(environment=environment, id__in=ids).values_list("id", "time"))
    keys = [(times[i], i) for i in ids]
    return keys == sorted(keys, reverse=True)


def test_list_pages_newest_first_with_keyset_pages_and_a_fixed_number_of_queries(
    admin_client, demo_environment, raw_url, django_assert_num_queries
):
    # Login session, user, access, environment switcher, the session write (3), then the page, the
    # newest id, identities, and the definitions (environment + definitions): whatever the page size.
    with django_assert_num_queries(13):
        first = admin_client.get(raw_url())
    assert first.status_code == 200
    page1 = rows(first)
    assert len(page1) == 50
    newest = RawEvent.objects.filter(environment=demo_environment).order_by("-time", "-id").first()
    assert page1[0][1] == newest.id
    assert newest_first(demo_environment, [i for _, i in page1])
    link = older_link(first)
    assert link and "cursor=" in link and "offset" not in link
    with django_assert_num_queries(9):  # no session write, no newest id on an older page
        second = admin_client.get(raw_url() + "?" + link)
    page2 = rows(second)
    assert len(page2) == 50 and not {i for _, i in page1} & {i for _, i in page2}
    assert newest_first(demo_environment, [i for _, i in page1 + page2])
    assert "← Newest" in second.content.decode() and "Pause live" not in second.content.decode()


def test_paging_to_the_end_visits_every_event_once(admin_client, demo_environment, raw_url):
    seen, query = [], "type=submit"
    while query is not None:
        response = admin_client.get(raw_url() + "?" + query)
        seen += [i for _, i in rows(response)]
        query = older_link(response)
    expected = RawEvent.objects.filter(environment=demo_environment, type="submit")
    assert len(seen) == len(set(seen)) == expected.count() > 50


@pytest.mark.parametrize(
    ("query", "check"),
    [
        ("type=click", lambda e: e.type == "click"),
        ("type=click&type=submit", lambda e: e.type in ("click", "submit")),
        ("path=/demo/blog/*", lambda e: e.path.startswith("/demo/blog/")),
        ("path=/demo/pricing/", lambda e: e.path == "/demo/pricing/"),
        ("text=start+FREE", lambda e: "start free" in e.target_text.lower()),
        ("event=Signed+Up", lambda e: e.type == "custom" and e.event_name == "Signed Up"),
        ("prop=plan", lambda e: "plan" in e.properties),
        ("prop=template&value=blank", lambda e: e.properties.get("template") == "blank"),
        ("type=change&path=/demo/signup/", lambda e: e.type == "change" and e.path == "/demo/signup/"),
        ("selector=form%23signup-form+input%5Btype%3Demail%5D", lambda e: e.target_id == "signup-email"),
        ("selector=.md%5C%3Apx-4", lambda e: "md:px-4" in e.target_classes),
    ],
)
def test_filters_combine_and_only_matching_rows_show(admin_client, demo_environment, raw_url, query, check):
    response = admin_client.get(raw_url() + "?" + query)
    assert response.status_code == 200
    ids = [i for _, i in rows(response)]
    assert ids, f"nothing matched {query}"
    events = RawEvent.objects.filter(environment=demo_environment, id__in=ids)
    assert all(check(e) for e in events)
    assert newest_first(demo_environment, ids)
    # The URL is the state: the form shows the filter again.
    assert 'value="' in response.content.decode()


def test_time_range_user_and_session_filters(admin_client, demo_environment, raw_url):
    since, until = DEMO_END - timedelta(days=3), DEMO_END - timedelta(days=1)
    response = admin_client.get(raw_url(), {"since": since.strftime("%Y-%m-%dT%H:%M"), "until": until.isoformat()})
    times = RawEvent.objects.filter(id__in=[i for _, i in rows(response)]).values_list("time", flat=True)
    assert times and all(since <= t < until for t in times)

    merge = IdentityMerge.objects.filter(environment=demo_environment).first()
    identity = RawUser.objects.get(environment=demo_environment, user_id=merge.to_user_id).identity
    response = admin_client.get(raw_url(), {"user": identity})
    users = set(RawEvent.objects.filter(id__in=[i for _, i in rows(response)]).values_list("user_id", flat=True))
    # The person's events from before they identified (the merged anonymous id) are included.
    assert merge.from_user_id in users and users <= {merge.to_user_id, merge.from_user_id} | set(
        IdentityMerge.objects.filter(to_user_id=merge.to_user_id).values_list("from_user_id", flat=True)
    )

    event = RawEvent.objects.filter(environment=demo_environment).order_by("id")[100]
    response = admin_client.get(raw_url(), {"session": event.session_id})
    expected = RawEvent.objects.filter(environment=demo_environment, session_id=event.session_id)
    assert sorted(i for _, i in rows(response)) == sorted(expected.values_list("id", flat=True))


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"since": "yesterday"}, "since", "is not a date or time"),
        ({"type": "hover"}, "type", "unknown type 'hover'"),
        ({"session": "abc"}, "session", "a session id is a number"),
        ({"user": "nobody@example.com"}, "user", "no user with identity"),
        ({"value": "pro"}, "value", "give the property name too"),
        ({"selector": "a:hover"}, "selector", "Pseudo-classes are not supported"),
        ({"selector": "div >"}, "selector", ""),
        ({"since": "2026-11-02", "until": "2026-11-01"}, "until", "must be after"),
        ({"cursor": "garbage"}, "cursor", "is not a position"),
        ({"text": "x" * 2000}, "text", "longer than 1024"),
    ],
)
def test_bad_filters_say_what_is_wrong(admin_client, raw_url, query, field, message):
    response = admin_client.get(raw_url(), query)
    assert response.status_code == 400
    body = response.content.decode()
    assert 'class="error"' in body and message.replace("'", "&#x27;") in body
    assert not rows(response)


def test_a_rare_filter_searches_a_bounded_number_of_rows_and_offers_to_continue(
    admin_client, demo_environment, raw_url, monkeypatch
):
    monkeypatch.setattr(selectors, "SCAN_BUDGET", 300)
    expected = list(
        RawEvent.objects.filter(environment=demo_environment, target_text="Create account")
        .order_by("-time", "-id")
        .values_list("id", flat=True)
    )
    seen, query, continued = [], "text=create+ACCOUNT", 0
    while query is not None:
        response = admin_client.get(raw_url() + "?" + query)
        seen += [i for _, i in rows(response)]
        body = response.content.decode()
        match = re.search(r'href="\?([^"]+)">Search older events', body)
        if match:
            continued += 1
            assert "Searched back to" in body
        query = match.group(1).replace("&amp;", "&") if match else older_link(response)
    assert continued >= 5
    assert seen == expected


def test_live_mode_returns_only_newer_matching_rows(admin_client, demo_environment, raw_url):
    first = admin_client.get(raw_url() + "?type=click")
    latest = int(re.search(r'data-latest-id="(\d+)"', first.content.decode()).group(1))
    template = RawEvent.objects.filter(environment=demo_environment, type="click").first()
    now = timezone.now()
    fields = {f.attname: getattr(template, f.attname) for f in RawEvent._meta.concrete_fields if f.name != "id"}
    fresh_click = RawEvent.objects.create(**{**fields, "event_id": "live-1", "time": now, "received_at": now})
    fresh_view = RawEvent.objects.create(
        **{**fields, "event_id": "live-2", "type": "pageview", "time": now, "received_at": now}
    )
    response = admin_client.get(raw_url() + f"?type=click&live={latest}")
    assert response.status_code == 200
    assert [i for _, i in rows(response)] == [fresh_click.id]
    assert int(response["X-Latest-Id"]) == fresh_view.id
    again = admin_client.get(raw_url() + f"?type=click&live={response['X-Latest-Id']}")
    assert rows(again) == [] and again["X-Latest-Id"] == response["X-Latest-Id"]
    assert admin_client.get(raw_url() + "?live=abc").status_code == 400


def test_event_detail_shows_fields_hierarchy_session_and_define_link(admin_client, demo_environment, raw_url):
    event = RawEvent.objects.filter(environment=demo_environment, target_id="hero-cta").first()
    definition_create(
        environment=demo_environment,
        name="Hero CTA",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "#hero-cta"}]}],
    )
    response = admin_client.get(raw_url(f"{event.id}/"))
    body = response.content.decode()
    assert response.status_code == 200
    assert f'href="/e/{SCHEMA}/definitions/new?from_event={event.id}"' in body
    assert "Define event from this" in body
    # One element per line, the target first and highlighted, ending with <html>.
    lines = re.findall(r'<li class="(target|)" style="--depth: (\d+)"><code>([^<]*)</code>', body)
    assert lines[0][0] == "target" and lines[0][2].startswith("&lt;a id=&quot;hero-cta&quot;")
    assert len(lines) == len(event.hierarchy) and lines[-1][2].startswith("&lt;html")
    assert "Hero CTA" in body  # the definition it matches
    assert event.session_id and str(event.session_id) in body and "landing page" in body
    assert admin_client.get(raw_url("999999999/")).status_code == 404


def test_definitions_matched_and_not_covered(admin_client, demo_environment, raw_url):
    definition_create(
        environment=demo_environment,
        name="Viewed pricing",
        groups=[{"kind": "pageview", "conditions": [{"type": "path", "value": "/demo/pricing/"}]}],
    )
    response = admin_client.get(raw_url() + "?path=/demo/pricing/&type=pageview")
    assert response.content.decode().count('<span class="defined"') == len(rows(response)) > 0
    uncovered = admin_client.get(raw_url() + "?uncovered=1&type=pageview")
    ids = [i for _, i in rows(uncovered)]
    assert ids and not RawEvent.objects.filter(id__in=ids, path="/demo/pricing/").exists()


def test_top_interactions_link_to_prefilled_definitions(admin_client, demo_environment, raw_url, monkeypatch):
    monkeypatch.setattr(selectors.timezone, "now", lambda: DEMO_END)
    response = admin_client.get(raw_url("top/") + "?range=30d")
    body = response.content.decode()
    assert response.status_code == 200
    for title in ("Clicks", "Pages", "Form submits", "Field changes", "Custom events"):
        assert f"<h2>{title}</h2>" in body
    assert "“Start your free trial” a#hero-cta" in body
    assert "127.0.0.1/demo/pricing/" in body
    assert body.count("/definitions/new?from_event=") >= 40
    counts = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', body)]
    assert counts and max(counts) > 20


def test_empty_environment_explains_what_to_do(admin_client, make_environment):
    environment = make_environment("acme", "staging")
    response = admin_client.get("/e/acme_staging/raw/")
    body = response.content.decode()
    assert response.status_code == 200 and "No data yet" in body and environment.app_id in body
    assert "seed_demo --environment acme_staging" in body
    assert "Nothing captured in this time range" in admin_client.get("/e/acme_staging/raw/top/").content.decode()
    assert "No users yet" in admin_client.get("/e/acme_staging/users/").content.decode()


def test_access_needs_login_and_a_known_environment(admin_client, demo_environment, raw_url):
    assert Client().get(raw_url()).status_code == 302
    assert admin_client.get("/e/nope_nope/raw/").status_code == 404
    assert admin_client.get("/e/nope_nope/users/").status_code == 404


def test_custom_event_name_uses_its_index_and_needs_no_scan_budget(
    admin_client, demo_environment, raw_url, monkeypatch
):
    monkeypatch.setattr(selectors, "SCAN_BUDGET", 10)
    response = admin_client.get(raw_url(), {"event": "Board Created"})
    expected = RawEvent.objects.filter(environment=demo_environment, type="custom", event_name="Board Created")
    ids = [i for _, i in rows(response)]
    assert ids == list(expected.order_by("-time", "-id").values_list("id", flat=True)[:50])
    assert "Search older events" not in response.content.decode()


def newer_link(response) -> str | None:
    match = re.search(r'<a class="button" href="\?([^"]+)" rel="prev">← Newer', response.content.decode())
    return match.group(1).replace("&amp;", "&") if match else None


def test_newer_pages_walk_back_up_to_the_newest_page(admin_client, demo_environment, raw_url):
    first = admin_client.get(raw_url() + "?type=click")
    assert newer_link(first) is None  # the newest page is live instead
    second = admin_client.get(raw_url() + "?" + older_link(first))
    third = admin_client.get(raw_url() + "?" + older_link(second))
    assert "newer=" in newer_link(third) and "type=click" in newer_link(third)
    back = admin_client.get(raw_url() + "?" + newer_link(third))
    assert rows(back) == rows(second)
    top = admin_client.get(raw_url() + "?" + newer_link(back))
    assert rows(top) == rows(first)
    assert newer_link(top) is None and "← Newest" in top.content.decode()  # nothing newer: back to the live page


def test_only_the_filled_in_filters_stay_in_the_url(admin_client, demo_environment, raw_url):
    response = admin_client.get(raw_url() + "?type=click&since=&until=&path=&text=&selector=&user=&event=&prop=&value=")
    assert response.status_code == 302 and response["Location"] == raw_url() + "?type=click"
    response = admin_client.get(raw_url() + "?since=&until=")
    assert response.status_code == 302 and response["Location"] == raw_url()


def test_date_placeholders_are_near_today_in_the_viewers_zone(admin_client, demo_environment, raw_url):
    body = admin_client.get(raw_url()).content.decode()
    today = timezone.localtime().strftime("%Y-%m-%d")
    assert f'placeholder="{today}T' in body and "Since (UTC)" in body


def test_csv_export_has_the_filtered_rows_newest_first_with_identities(admin_client, demo_environment, raw_url):
    response = admin_client.get(raw_url("export.csv") + "?type=submit")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header, data = lines[0], lines[1:]
    assert header[:3] == ["time", "type", "event_name"] and "identity" in header
    expected = RawEvent.objects.filter(environment=demo_environment, type="submit").order_by("-time", "-id")
    assert [int(row[header.index("event_row_id")]) for row in data] == list(expected.values_list("id", flat=True))
    assert any(row[header.index("identity")] for row in data)  # merged anonymous ids carry their person's identity


def test_csv_export_is_bounded_and_refuses_a_bad_filter(admin_client, demo_environment, raw_url, monkeypatch):
    monkeypatch.setattr(selectors, "EXPORT_MAX_ROWS", 120)
    monkeypatch.setattr(selectors.raw_events_export, "__kwdefaults__", {"max_rows": 120})
    response = admin_client.get(raw_url("export.csv"))
    assert len(b"".join(response.streaming_content).decode().strip().splitlines()) == 121
    bad = admin_client.get(raw_url("export.csv") + "?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.content.decode()


def test_rows_of_merged_anonymous_ids_show_their_persons_identity(admin_client, demo_environment, raw_url):
    merge = IdentityMerge.objects.filter(environment=demo_environment).first()
    person = RawUser.objects.get(environment=demo_environment, user_id=merge.to_user_id)
    event = RawEvent.objects.filter(environment=demo_environment, user_id=merge.from_user_id).first()
    body = admin_client.get(raw_url(), {"session": event.session_id}).content.decode()
    assert person.identity in body
    assert f'href="/e/{SCHEMA}/users/{merge.to_user_id}/"' in body  # the link goes to the person
    detail = admin_client.get(raw_url(f"{event.id}/")).content.decode()
    assert person.identity in detail and str(merge.to_user_id) in detail


def test_top_interactions_group_an_element_by_what_identifies_it_not_its_text(admin_client, make_environment):
    environment = make_environment("top", "grouping")
    form = [
        {"tag": "form", "id": "signup-form", "attrs": {"method": "post"}},
        {"tag": "main"},
        {"tag": "body"},
        {"tag": "html"},
    ]
    now = timezone.now()
    texts = ["Name Email Create", "Name This field is required. Email Create", "Name Email Enter a valid email. Create"]
    for number, text in enumerate(texts):
        RawEvent.objects.create(
            environment=environment,
            event_id=f"submit-{number}",
            user_id=1,
            session_id=1,
            time=now - timedelta(minutes=number),
            received_at=now,
            type="submit",
            path="/signup/",
            target_tag="form",
            target_id="signup-form",
            target_text=text,
            hierarchy=form,
        )
    body = admin_client.get("/e/top_grouping/raw/top/").content.decode()
    section = body[body.index("<h2>Form submits</h2>") : body.index("<h2>Field changes</h2>")]
    assert section.count("<tr><td>") == 1, section  # one form, not three
    assert 'type=submit">form#signup-form</a>' in section.replace("selector=%23signup-form&amp;", "")
    assert "e.g. “Name" in section and '<td class="num">3</td>' in section
