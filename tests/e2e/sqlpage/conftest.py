import pytest
from django.conf import settings
from django.test import Client

from tests.warehouse.sqlpage.world import build_world, teardown_world


@pytest.fixture
def sql_live_server(live_server, transactional_db):
    return live_server.url


@pytest.fixture
def e2e_world(transactional_db, settings):
    settings.SQLPAGE_STATEMENT_TIMEOUT_MS = 20_000
    settings.SQLPAGE_MAX_ROWS = 100
    settings.SQLPAGE_CSV_MAX_ROWS = 10_000
    settings.SQLPAGE_RATE_LIMIT_PER_MINUTE = 1000
    world = build_world(prefix="sqle2e")
    yield world
    teardown_world(world)


@pytest.fixture
def admin_cookie(transactional_db, django_user_model, sql_live_server):
    """A logged-in admin's session cookie, made before the browser starts.

    Database work must happen outside Playwright's sync API: it runs the test in a greenlet with its
    own context, where Django would open (and never close) a second connection.
    """
    user = django_user_model.objects.create_superuser("e2e-admin", "e2e@example.com")
    client = Client()
    client.force_login(user)
    value = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {"name": settings.SESSION_COOKIE_NAME, "value": value, "url": sql_live_server}


@pytest.fixture
def browser_page(browser, admin_cookie):
    """A logged-in context of the session's shared Chromium (tests/e2e/conftest.py)."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    context.add_cookies([admin_cookie])
    yield context
    context.close()
