"""Every app page works under its Content-Security-Policy: scripts run, the SQL editor edits and runs,
nothing is refused (the `page` fixture fails a test on any CSP console error)."""

import pytest

from definitions.services import definition_create
from tests.e2e.conftest import log_in
from warehouse.models import Environment, Project
from warehouse.roles import sql_role_drop

SCHEMA = "cspcheck_main"
PAGES = ["/", f"/e/{SCHEMA}/", f"/e/{SCHEMA}/raw/", f"/e/{SCHEMA}/raw/top/", f"/e/{SCHEMA}/users/",
         f"/e/{SCHEMA}/definitions/", f"/e/{SCHEMA}/definitions/new", f"/e/{SCHEMA}/sync/",
         f"/e/{SCHEMA}/sources/", f"/e/{SCHEMA}/members/", "/admin/", "/admin/rq/"]  # fmt: skip


@pytest.fixture
def logged_in(live_server, transactional_db, django_user_model, page):
    # Database work before the browser runs: Playwright's sync API would give Django a second connection.
    project = Project.objects.create(name="cspcheck")
    environment = Environment(project=project, name="main", warehouse_schema=SCHEMA)
    environment.set_api_key("csp-key")
    environment.save()
    other = Environment(project=project, name="other", warehouse_schema="cspcheck_other")
    other.set_api_key("csp-key-2")
    other.save()
    definition = definition_create(
        environment=environment,
        name="Clicked",
        groups=[{"kind": "click", "conditions": [{"type": "selector", "value": "#buy"}]}],
    )
    log_in(page.context, live_server.url, django_user_model.objects.create_superuser("csp", "csp@example.com"))
    yield live_server.url, definition
    sql_role_drop(environment)


def test_app_pages_carry_the_policy_and_their_scripts_run(page, logged_in):
    base, definition = logged_in
    for path in [*PAGES, f"/e/{SCHEMA}/definitions/{definition.pk}/"]:
        response = page.goto(base + path)
        assert response.ok, path
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, (path, policy)
    # The switcher is wired by static/js/app.js, not by an inline handler.
    page.goto(base + f"/e/{SCHEMA}/")
    page.select_option("select[data-navigate]", "/e/cspcheck_other/")
    page.wait_for_url(f"{base}/e/cspcheck_other/")
    # A destructive form asks first; dismissing keeps the definition.
    page.goto(base + f"/e/{SCHEMA}/definitions/{definition.pk}/")
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("form.danger-zone button")
    assert page.url.endswith(f"/definitions/{definition.pk}/")


def test_the_sql_editor_and_its_results_work_under_the_policy(page, logged_in):
    base, _ = logged_in
    page.goto(base + f"/e/{SCHEMA}/sql/")
    page.click(".CodeMirror")
    page.keyboard.type("SELECT 41 + 1 AS answer")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector(".sql-rowcount")
    assert page.inner_text(".sql-grid td.num") == "42"
    assert page.locator(".cm-keyword").count() > 0  # CodeMirror highlighted the SQL: its scripts ran


def test_the_demo_shop_runs_its_inline_snippet(page, logged_in):
    base, _ = logged_in
    response = page.goto(base + f"/demo/?env={SCHEMA}")
    assert "'unsafe-inline'" in response.headers["content-security-policy"]
    page.wait_for_function("window.heap && typeof window.heap.track === 'function'")
