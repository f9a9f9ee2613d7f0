import io
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Max, Min

from demo.seed.services import DemoDataExists, demo_seed
from demo.shop.posts import POSTS
from heapsite.progress import ProgressBar, progress
from warehouse.identity import ANONYMOUS_ID_LIMIT, is_identified_user_id, user_id_for_identity
from warehouse.ingest.payloads import collect_event
from warehouse.ingest.validation import validate
from warehouse.models import Environment, IdentityMerge, Project, RawEvent, RawSession, RawUser

from .conftest import DEMO_END

EVENT_FIELDS = [
    "event_id",
    "user_id",
    "session_id",
    "time",
    "received_at",
    "type",
    "event_name",
    "domain",
    "path",
    "query",
    "hash",
    "title",
    "referrer",
    "target_tag",
    "target_id",
    "target_classes",
    "target_text",
    "target_href",
    "hierarchy",
    "library",
    "properties",
]
ELEMENT_KEYS = {"tag", "ns", "id", "classes", "attrs", "truncated"}


def _events(environment):
    return list(RawEvent.objects.filter(environment=environment).order_by("id").values_list(*EVENT_FIELDS))


def test_same_seed_gives_the_same_data_and_another_seed_does_not(seed_demo):
    first = seed_demo("main_one", seed=3)
    second = seed_demo("main_two", seed=3)
    other = seed_demo("main_three", seed=4)
    assert _events(first.environment) == _events(second.environment)
    assert _events(first.environment) != _events(other.environment)

    def sessions(environment):
        return list(
            RawSession.objects.filter(environment=environment)
            .order_by("session_id")
            .values_list("session_id", "user_id", "time", "browser", "referrer", "utm_campaign")
        )

    assert sessions(first.environment) == sessions(second.environment)


@pytest.mark.parametrize("count", [1, 777, 4321])
def test_the_number_of_events_is_exactly_what_was_asked(seed_demo, count):
    result = seed_demo(events=count)
    assert result.events == count
    assert RawEvent.objects.filter(environment=result.environment).count() == count


def test_creates_the_environment_from_its_schema_name(seed_demo):
    result = seed_demo("acme_staging", events=50)
    environment = Environment.objects.get(warehouse_schema="acme_staging")
    assert (environment.project.name, environment.name) == ("acme", "staging")
    assert result.created_environment and environment.check_api_key(result.api_key)


def test_refuses_an_environment_with_data_unless_replacing(seed_demo):
    seed_demo(events=200, seed=1)
    with pytest.raises(DemoDataExists, match="--replace"):
        seed_demo(events=300, seed=2)
    environment = Environment.objects.get(warehouse_schema="main_production")
    assert RawEvent.objects.filter(environment=environment).count() == 200
    seed_demo(events=300, seed=2, replace=True)
    assert RawEvent.objects.filter(environment=environment).count() == 300
    assert not RawEvent.objects.filter(environment=environment, event_id__startswith="demo1-").exists()


@pytest.fixture(scope="module")
def _demo(django_db_setup, django_db_blocker):
    """12,000 events loaded once for the shape tests below (committed), removed afterwards."""
    with django_db_blocker.unblock():
        environment = demo_seed(
            schema="shape_demo", events=12000, seed=11, end=DEMO_END, replace=True, stream=io.StringIO()
        ).environment
    yield environment
    with django_db_blocker.unblock():
        for model in (RawEvent, RawSession, RawUser, IdentityMerge):
            model.objects.filter(environment=environment).delete()
        environment.delete()
        Project.objects.filter(name="shape", environments__isnull=True).delete()


@pytest.fixture
def demo(_demo, db):
    return Environment.objects.get(pk=_demo.pk)


def test_events_cover_every_kind_of_interaction_and_the_product_pages(demo):
    events = RawEvent.objects.filter(environment=demo)
    types = Counter(events.values_list("type", flat=True))
    assert set(types) == {"pageview", "click", "submit", "change", "custom"}
    assert types["pageview"] > types["submit"] > 0
    # The demo shop's own pages (Acme Boards under /demo/), on the host `make run` serves.
    paths = set(events.filter(type="pageview").values_list("path", flat=True))
    assert {"/demo/", "/demo/pricing/", "/demo/signup/", "/demo/login/", "/demo/blog/", "/demo/app/"} <= paths
    assert {"/demo/app/billing", "/demo/app/boards/1", "/demo/signup/welcome/"} <= paths
    assert {f"/demo/blog/{post.slug}/" for post in POSTS} <= paths
    assert all(path.startswith("/demo/") for path in paths)
    assert set(events.exclude(domain="").values_list("domain", flat=True)) == {"127.0.0.1"}
    names = set(events.filter(type="custom").values_list("event_name", flat=True))
    assert {"Signed Up", "Board Created", "Order Completed", "Subscription Renewed"} <= names
    server = events.filter(library="server")
    assert server.exists() and not server.exclude(type="custom").exists()
    renewal = server.filter(event_name="Subscription Renewed").first()
    assert set(renewal.properties) == {"plan", "amount", "currency", "months"}
    assert isinstance(renewal.properties["amount"], int)
    # Clicks have readable labels and links resolve to absolute URLs.
    clicks = events.filter(type="click")
    assert clicks.filter(target_text="Start your free trial", target_id="hero-cta").exists()
    # Links as heap.js sends them from the shop: the href attribute.
    hrefs = set(clicks.exclude(target_href="").values_list("target_href", flat=True))
    assert all(href.startswith(("/demo/", "#")) for href in hrefs) and "/demo/pricing/" in hrefs
    hero = clicks.filter(target_id="hero-cta").first()
    assert hero.target_href == "/demo/signup/?plan=pro"


def test_hierarchies_follow_the_documented_format(demo):
    utility = set()
    checked = 0
    for event in RawEvent.objects.filter(environment=demo).exclude(type__in=["pageview", "custom"]).iterator():
        hierarchy = event.hierarchy
        assert [element["tag"] for element in hierarchy[-2:]] == ["body", "html"]
        target = hierarchy[0]
        assert target["tag"] == event.target_tag
        assert target.get("id", "") == event.target_id
        assert target.get("classes", []) == event.target_classes
        for element in hierarchy:
            assert set(element) <= ELEMENT_KEYS and isinstance(element["tag"], str)
            classes = element.get("classes", [])
            assert isinstance(classes, list) and len(classes) == len(set(classes)) and all(classes)
            utility.update(c for c in classes if ":" in c or "/" in c)
            attrs = element.get("attrs", {})
            assert not {"id", "style", "value", "class"} & set(attrs)
            assert not any(name.startswith("on") for name in attrs)
            assert all(isinstance(v, str) for v in attrs.values())
        if event.type == "submit":
            assert event.target_tag == "form"
        # What the snippet would have sent passes the ingestion validator.
        sent = {
            "id": event.event_id,
            "type": event.type,
            "time": int(event.time.timestamp() * 1000),
            "domain": event.domain,
            "path": event.path,
            "query": event.query,
            "title": event.title,
            "target": {
                "tag": event.target_tag,
                "id": event.target_id,
                "classes": event.target_classes,
                "text": event.target_text,
                "href": event.target_href,
            },
            "hierarchy": hierarchy,
            "properties": event.properties,
        }
        assert validate(collect_event, sent)[1] == []
        checked += 1
    assert checked > 1000
    assert {"md:px-4", "md:px-8", "md:grid-cols-3", "md:py-3"} <= utility


def test_sessions_users_and_identity_merges_are_consistent(demo):
    events = RawEvent.objects.filter(environment=demo)
    sessions = {s.session_id: s for s in RawSession.objects.filter(environment=demo)}
    event_sessions = set(events.values_list("session_id", flat=True))
    assert event_sessions == set(sessions)
    # Session start and end match their events.
    for session_id, first, last in _session_bounds(events):
        assert sessions[session_id].time == first and sessions[session_id].last_event_time == last
    web = [s for s in sessions.values() if s.library == "web"]
    assert all(
        s.browser and s.platform and s.device_type and s.landing_page.startswith("http://127.0.0.1:8000/demo/")
        for s in web
    )
    assert {s.device_type for s in web} >= {"Desktop", "Mobile"}
    assert sum(bool(s.utm_campaign) for s in web) > 20 and sum(bool(s.search_keyword) for s in web) > 20
    assert sum(s.referrer.startswith("https://www.google.com/") for s in web) > 20
    assert any(s.country == "Germany" for s in web) and any(s.country == "" for s in web)
    # Users: anonymous ids below 2**53, identified ids derived from the identity, with properties.
    users = {u.user_id: u for u in RawUser.objects.filter(environment=demo)}
    assert set(events.values_list("user_id", flat=True)) <= set(users)
    identified = [u for u in users.values() if u.identity]
    assert len(identified) > 20
    for user in users.values():
        if user.identity:
            assert user.user_id == user_id_for_identity(user.identity)
            assert user.properties["email"] == user.identity and user.properties["plan"]
        else:
            assert 0 < user.user_id < ANONYMOUS_ID_LIMIT
    per_user = Counter(s.user_id for s in sessions.values())
    assert max(per_user.values()) >= 5
    # Merges: an anonymous id that identified; its events stop when the identified id's start.
    merges = list(IdentityMerge.objects.filter(environment=demo))
    assert len(merges) > 20
    assert len({m.to_user_id for m in merges}) < len(merges)  # someone identified on two devices
    for merge in merges:
        assert not is_identified_user_id(merge.from_user_id) and merge.to_user_id in users
        assert users[merge.to_user_id].identity
        assert not events.filter(user_id=merge.from_user_id, time__gt=merge.time).exists()
        assert events.filter(user_id=merge.to_user_id, time__gte=merge.time).exists()


def _session_bounds(events):
    return (
        events.values("session_id")
        .annotate(first=Min("time"), last=Max("time"))
        .values_list("session_id", "first", "last")
    )


def test_events_spread_over_sixty_days_with_a_weekly_rhythm_and_ids_follow_time(demo):
    events = RawEvent.objects.filter(environment=demo)
    times = list(events.order_by("id").values_list("time", flat=True))
    assert times == sorted(times)
    assert times[-1] <= DEMO_END and times[0] >= DEMO_END - timedelta(days=60)
    assert times[-1] - times[0] > timedelta(days=58)
    by_weekday = Counter(t.weekday() for t in times)
    weekend = (by_weekday[5] + by_weekday[6]) / 2
    weekdays = sum(by_weekday[d] for d in range(5)) / 5
    assert weekend < weekdays * 0.8
    by_hour = Counter(t.hour for t in times)
    assert by_hour[15] > 2 * by_hour[3]


def test_command_reports_what_it_loaded(db):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "seed_demo",
        "--events",
        "500",
        "--seed",
        "5",
        "--environment",
        "demo_cmd",
        "--end",
        "2026-11-02T12:00:00+00:00",
        stdout=out,
        stderr=err,
    )
    assert "Created environment demo_cmd" in out.getvalue()
    assert "Loaded 500 events" in out.getvalue()
    assert "demo events" in err.getvalue() and "100%" in err.getvalue()
    with pytest.raises(CommandError, match="already has raw data"):
        call_command("seed_demo", "--events", "10", "--environment", "demo_cmd", stdout=out, stderr=err)
    with pytest.raises(CommandError, match="<project>_<environment>"):
        call_command("seed_demo", "--events", "10", "--environment", "nounderscore", stdout=out, stderr=err)


def test_progress_bar_shows_rate_and_eta():
    bar = ProgressBar(1000, "rows", stream=io.StringIO())
    bar.started -= 2.0
    bar.done = 250
    line = bar.render()
    assert line.startswith("rows [") and "25%" in line and "250/1.0k" in line and "/s" in line and "ETA 0:0" in line
    stream = io.StringIO()
    with progress(None, "items", stream=stream) as unknown:
        unknown.advance(3)
    assert "items 3" in stream.getvalue()


def test_a_large_seed_is_planned_a_slice_at_a_time_and_stays_consistent(seed_demo):
    """What --events 20000000 does with 1,000,000-event slices, on 25,000 events in 5,000-event slices."""
    result = seed_demo("main_sliced", events=25_000, seed=2, slice_events=5_000)
    demo = result.environment
    events = RawEvent.objects.filter(environment=demo)
    assert result.events == events.count() == 25_000
    assert events.values("event_id").distinct().count() == 25_000
    sessions = RawSession.objects.filter(environment=demo)
    users = RawUser.objects.filter(environment=demo)
    assert result.sessions == sessions.count() and result.users == users.count() > 1000
    assert set(events.values_list("session_id", flat=True)) == set(sessions.values_list("session_id", flat=True))
    assert set(events.values_list("user_id", flat=True)) <= set(users.values_list("user_id", flat=True))
    # Ids of every slice: anonymous ids are the slice's number modulo 5.
    anonymous = [u for u in users.values_list("user_id", flat=True) if not is_identified_user_id(u)]
    assert {u % 5 for u in anonymous} == {0, 1, 2, 3, 4}
    # The power users exist once, sized from the whole seed (the team login: 1% of all events).
    team = users.get(identity="team@bigcorp.example")
    assert 200 <= events.filter(user_id=team.user_id).count() <= 300
    assert (
        len(set(users.exclude(identity=None).values_list("identity", flat=True)))
        == users.exclude(identity=None).count()
    )
    # Each slice covers the whole window; over the seed, times still spread over sixty days.
    times = list(events.order_by("time").values_list("time", flat=True))
    assert times[-1] - times[0] > timedelta(days=58)
    # Same seed, same slices: the same rows.
    again = seed_demo("main_sliced2", events=25_000, seed=2, slice_events=5_000).environment
    assert _events(demo) == _events(again)
