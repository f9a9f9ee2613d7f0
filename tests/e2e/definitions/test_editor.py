"""The definition editor in Chromium: build a group with the form, watch the live preview, save."""

from datetime import timedelta

import pytest
from django.utils import timezone

from definitions.models import Definition
from warehouse.models import RawEvent

pytestmark = pytest.mark.e2e


@pytest.fixture
def logged_in_page(oracle_browser, live_server, client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.com", "pw-for-tests-only")
    client.force_login(user)
    context = oracle_browser.new_context(base_url=live_server.url)
    context.set_default_timeout(10000)
    host = live_server.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "domain": host, "path": "/"}]
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_build_preview_and_save_a_definition(logged_in_page, transactional_db, make_environment):
    environment = make_environment()
    now = timezone.now()
    for i in range(3):
        RawEvent.objects.create(
            environment=environment,
            event_id=f"c{i}",
            user_id=1,
            session_id=1,
            time=now - timedelta(days=i),
            received_at=now,
            type="click",
            target_tag="button",
            target_id="cta",
            hierarchy=[{"tag": "button", "id": "cta"}, {"tag": "body"}, {"tag": "html"}],
        )
    page = logged_in_page
    page.goto(f"/e/{environment.warehouse_schema}/definitions/new")
    assert page.locator("#builder").is_visible()
    assert not page.locator("#groups-json").is_visible()  # the builder replaces the raw JSON
    page.get_by_role("button", name="+ Condition").click()
    page.get_by_label("Value").fill("#cta")
    page.locator("#preview .preview-total strong").filter(has_text="3").wait_for()
    assert page.locator("#preview svg rect").count() == 30

    page.get_by_label("Value").fill("#cta:hover")
    page.locator("#preview .errorlist").filter(has_text="Pseudo-classes are not supported").wait_for()

    page.get_by_label("Value").fill("button#cta")
    page.get_by_label("Name").fill("Clicked CTA")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Saved 'Clicked CTA'").wait_for()
    definition = Definition.objects.get(environment=environment)
    assert definition.groups == [{"kind": "click", "conditions": [{"type": "selector", "value": "button#cta"}]}]
    assert definition.table_name == "clicked_cta"
