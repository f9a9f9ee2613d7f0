import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from psycopg2 import sql

from heapsite import selectors
from warehouse.citus import citus_active
from warehouse.models import IdentityMerge, Membership, RawEvent, RawSession, RawUser, Role
from warehouse.models.raw import raw_events_partition
from warehouse.naming import reserved_words


def add_raw(environment, *, users: int, events: int, old_events: int = 0) -> None:
    now = timezone.now()
    RawUser.objects.bulk_create(
        RawUser(environment=environment, user_id=i, joindate=now, last_modified=now) for i in range(users)
    )
    RawSession.objects.create(
        environment=environment, session_id=1, user_id=0, time=now, last_event_time=now, last_modified=now
    )
    RawEvent.objects.bulk_create(
        RawEvent(
            environment=environment,
            event_id=f"e{i}",
            user_id=0,
            session_id=1,
            time=now - timedelta(days=3 if i < old_events else 0),
            received_at=now,
            type="pageview",
        )
        for i in range(events)
    )


def row_text(html: str, label: str) -> str:
    row = re.search(rf"<tr>\s*<td><a [^>]*>{re.escape(label)}</a>.*?</tr>", html, re.S).group(0)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()


def test_dashboard_counts_every_environment_in_constant_queries(
    admin_client, make_environment, django_assert_num_queries
):
    production = make_environment(name="production")
    development = make_environment(name="development")
    add_raw(production, users=3, events=7, old_events=2)
    add_raw(development, users=1, events=2)

    # session + user + environments (switcher) + environments (page) + their partitions' statistics
    # (not on Citus: the coordinator's hold no rows) + one count query for all
    with django_assert_num_queries(5 if citus_active() else 6):
        response = admin_client.get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert row_text(html, "main / production") == f"main / production {production.app_id} 3 1 5 7"
    assert row_text(html, "main / development") == f"main / development {development.app_id} 1 1 2 2"


def test_counts_past_the_exact_limit_are_estimates(environment, monkeypatch):
    add_raw(environment, users=2, events=30)
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 10)

    (stats,) = selectors.environment_stats(environments=[environment])

    assert stats.users == selectors.Count(2)
    assert stats.events.approximate and stats.events.value >= 10
    assert stats.events_last_24h.approximate


def analyze(environment) -> None:
    with connection.cursor() as cursor:
        for table in (raw_events_partition(environment.id), "raw_users", "raw_sessions", "raw_identity_merges"):
            cursor.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))


def test_environments_past_the_cap_by_their_statistics_are_estimated_without_counting(
    admin_client, make_environment, monkeypatch, django_assert_num_queries
):
    if citus_active():
        pytest.skip("on Citus the coordinator's statistics of a partition hold no rows: every count is walked")
    large, small = make_environment(name="production"), make_environment(name="development")
    add_raw(large, users=40, events=60, old_events=20)
    add_raw(small, users=2, events=3)
    analyze(large)
    exact = selectors.environment_stats(environments=[large])[0]
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 10)  # also the walks' budget: the 1 session's count fits

    # statistics + 4 estimates of the large environment + one count of what fits the walks' budget
    with django_assert_num_queries(6):
        large_stats, small_stats = selectors.environment_stats(environments=[large, small])

    assert small_stats.events == selectors.Count(3), "a small environment is still counted exactly"
    assert large_stats.sessions == selectors.Count(1), "a count that fits the walks' budget is exact"
    for name in ("users", "events_last_24h", "events"):
        estimate, counted = getattr(large_stats, name), getattr(exact, name)
        assert estimate.approximate and not counted.approximate
        # On data this small ANALYZE reads every row: the statistics' estimate is the exact count, or within 5%.
        assert abs(estimate.value - counted.value) <= max(1, 0.05 * counted.value), (name, estimate, counted)
    html = admin_client.get("/").content.decode()
    assert row_text(html, "main / production").endswith(
        f"≈ {large_stats.events_last_24h.value} ≈ {large_stats.events.value}"
    )
    assert row_text(html, "main / development").endswith("2 1 3 3")


def test_large_environments_share_one_budget_of_walks_smallest_count_first(make_environment, monkeypatch):
    if citus_active():
        pytest.skip("on Citus the coordinator's statistics of a partition hold no rows: every count is walked")
    busy, quiet = make_environment(name="production"), make_environment(name="development")
    add_raw(busy, users=30, events=50)
    add_raw(quiet, users=3, events=50)
    analyze(busy)
    analyze(quiet)
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 30)

    busy_stats, quiet_stats = selectors.environment_stats(environments=[busy, quiet])

    # Walked in order 1 + 1 + 3 of the budget of 30: the busy environment's 30 users no longer fit.
    assert busy_stats.sessions == quiet_stats.sessions == selectors.Count(1)
    assert quiet_stats.users == selectors.Count(3)
    assert busy_stats.users.approximate and abs(busy_stats.users.value - 30) <= 1
    assert busy_stats.events.approximate and abs(busy_stats.events.value - 50) <= 1


def test_environments_each_under_the_cap_share_its_budget_smallest_first(
    make_environment, monkeypatch, django_assert_num_queries
):
    if citus_active():
        pytest.skip("on Citus the coordinator's statistics of a partition hold no rows: every count is walked")
    environments = [make_environment(name=name) for name in ("production", "staging", "development")]
    for environment, events in zip(environments, (40, 30, 20), strict=True):
        add_raw(environment, users=3, events=events)
        analyze(environment)
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 60)  # each fits under it, all three do not

    # statistics + 4 estimates of the one left over + one count query for the rest
    with django_assert_num_queries(6):
        production, staging, development = selectors.environment_stats(environments=environments)

    # Smallest first: 20 + 30 of the 60 are counted exactly; 40 no longer fit, so production is
    # estimated first, and its counts that fit the 10 left (its session, its 3 users) are walked.
    assert (development.events, staging.events) == (selectors.Count(20), selectors.Count(30))
    assert (production.sessions, production.users) == (selectors.Count(1), selectors.Count(3))
    assert production.events.approximate and abs(production.events.value - 40) <= 1
    assert production.events_last_24h.approximate


# Committed writes, as the app makes them: on Citus, one transaction that writes the reference
# tables and then counts over every shard is refused.
@pytest.mark.django_db(transaction=True)
def test_users_are_people_as_the_warehouse_counts_them(environment, monkeypatch):
    add_raw(environment, users=4, events=1)
    # Users 0 and 1 were anonymous ids of user 3 (one person on two devices, then identified).
    for anonymous in (0, 1):
        IdentityMerge.objects.create(environment=environment, from_user_id=anonymous, to_user_id=3, time=timezone.now())
    (stats,) = selectors.environment_stats(environments=[environment])
    assert stats.users == selectors.Count(2)
    monkeypatch.setattr(selectors, "EXACT_COUNT_LIMIT", 1)  # the estimate leaves merged ids out too
    (stats,) = selectors.environment_stats(environments=[environment])
    assert stats.users.approximate


def test_dashboard_without_environments_points_to_the_new_environment_page(admin_client, db):
    html = admin_client.get("/").content.decode()

    assert "No environments yet" in html
    assert 'href="/environments/new"' in html


def test_environment_page_shows_counts_snippet_and_app_id(admin_client, environment, django_assert_num_queries):
    add_raw(environment, users=4, events=3)

    # session + user + environment + its partition's statistics (not on Citus) + one count query + switcher
    # + saving "last environment" (3)
    # + the privacy card's deletion requests and retention runs (2)
    # + the table the example event becomes (3: API events' names, the environment's definitions)
    # + the sync's health (schedule and last good run: two before the environment's first sync, else one)
    reserved_words()  # read from the server once per process: counted only when this test runs first
    with django_assert_num_queries(15 if citus_active() else 16):
        response = admin_client.get(f"/e/{environment.warehouse_schema}/")

    html = response.content.decode()
    assert response.status_code == 200
    assert f'value="{environment.app_id}"' in html
    assert f"heap.load(&quot;{environment.app_id}&quot;" in html, "the snippet, escaped for copying"
    assert "http://testserver/api/collect" in html and "http://testserver/static/heap.js" in html
    assert f'href="/demo/?env={environment.warehouse_schema}"' in html
    tiles = re.findall(r'<span class="label">([^<]+)</span><span class="count">([^<]+)</span>', html)
    assert tiles == [("Users", "4"), ("Sessions", "1"), ("Events, last 24 h", "3"), ("Events, all time", "3")]
    assert environment.api_key_prefix in html
    assert "Rotate server key" in html


def test_unknown_environment_is_404(admin_client, db):
    assert admin_client.get("/e/nope_nothing/").status_code == 404


def test_pages_require_login(client, environment):
    for url in ["/", f"/e/{environment.warehouse_schema}/"]:
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/login/")


def test_rotating_the_server_key_shows_the_new_key_once(admin_client, environment):
    response = admin_client.post(f"/e/{environment.warehouse_schema}/server-key/")

    key = re.search(r'<pre id="server-key">([^<]+)</pre>', response.content.decode()).group(1)
    environment.refresh_from_db()
    assert environment.check_api_key(key)
    assert not environment.check_api_key("test-server-key"), "the old key no longer works"
    assert key not in admin_client.get(f"/e/{environment.warehouse_schema}/").content.decode()


@pytest.mark.django_db
def test_only_admins_of_the_environment_rotate_keys(client, django_user_model, environment):
    editor = django_user_model.objects.create_user("analyst", is_staff=True)
    Membership.objects.create(user=editor, environment=environment, role=Role.EDITOR)
    client.force_login(editor)

    assert client.post(f"/e/{environment.warehouse_schema}/server-key/").status_code == 403
    assert "Rotate server key" not in client.get(f"/e/{environment.warehouse_schema}/").content.decode()
    environment.refresh_from_db()
    assert environment.check_api_key("test-server-key")


def test_navigation_starts_on_the_first_environment_created(admin_client, make_environment):
    make_environment(name="production")
    make_environment(name="development")  # sorts first, but was created second

    html = admin_client.get("/").content.decode()

    assert 'href="/e/main_production/raw/"' in html
    assert '<option value="/e/main_production/" selected>' in html
