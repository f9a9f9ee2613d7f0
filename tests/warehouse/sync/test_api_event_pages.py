"""What people see of events logged via the API: the environment page, the definitions list, the
event's page, the switches, and the sync page's "not synced (limit reached)" and paused events."""

import html
import re

import pytest

from definitions.models import Definition
from definitions.services import definition_create, definition_sync_set
from warehouse.models import ApiEvent, SyncRun, TableChangeRequest

from .conftest import sync
from .test_api_events import CLICKED_SIGN_UP

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def track(sync_env):
    from django.test import Client

    client = Client()

    def send(*names: str):
        events = [{"identity": "a@example.com", "event": name} for name in names]
        body = {"app_id": sync_env.app_id, "events": events}
        response = client.post(
            "/api/track", data=body, content_type="application/json", HTTP_AUTHORIZATION="Bearer test-server-key"
        )
        assert response.status_code == 200, response.content

    return send


def page(client, path: str) -> str:
    """The page's HTML, entities decoded and every run of whitespace one space (as a reader sees it)."""
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def switch_of(text: str, name: str) -> str:
    """The aria-checked value of the sync switch labelled for `name`."""
    match = re.search(rf'aria-checked="(true|false)" aria-label="Sync {re.escape(name)} to warehouse"', text)
    assert match, f"no sync switch for {name!r}"
    return match.group(1)


def test_the_environment_page_says_which_table_the_example_event_becomes(admin_client, sync_env):
    text = page(admin_client, f"/e/{sync_env.warehouse_schema}/")
    assert '"event": "Signed Up"' in text
    assert f"the table {sync_env.warehouse_schema}.signed_up" in text.replace("<code>", "").replace("</code>", "")
    definition_create(environment=sync_env, name="Signed Up", groups=CLICKED_SIGN_UP)  # another event took the name
    text = page(admin_client, f"/e/{sync_env.warehouse_schema}/")
    assert f"{sync_env.warehouse_schema}.signed_up_2" in text


def test_the_definitions_list_shows_api_events_with_count_table_and_switch(
    admin_client, sync_env, track, sync_queue, django_assert_max_num_queries
):
    schema = sync_env.warehouse_schema
    track("Signed Up", "Signed Up", *[f"Step {n}" for n in range(10)])
    sync(sync_env)
    track("Invited Friend")  # no sync has seen it yet
    with django_assert_max_num_queries(19):  # as many with 12 API events as with none: no query per row
        text = page(admin_client, f"/e/{schema}/definitions/")
    row = text[text.index(">Signed Up</a>") :].split("</tr>")[0]
    assert "logged via API" in row and "<code>signed_up</code>" in row
    assert re.search(r'<td class="num">2</td>', row)
    assert switch_of(text, "Signed Up") == "true"
    new = text[text.index("Invited Friend") :].split("</tr>")[0]
    assert "<code>invited_friend</code>" in new and "after the next sync" in new
    event = ApiEvent.objects.get(name="Signed Up")
    response = admin_client.post(
        f"/e/{schema}/api-events/{event.pk}/sync", {"sync": "off", "return_to": "list"}, follow=True
    )
    assert response.redirect_chain[-1][0] == f"/e/{schema}/definitions/"
    assert "paused (sync switched off)" in html.unescape(response.content.decode())
    assert ApiEvent.objects.get(pk=event.pk).sync == "off"
    assert TableChangeRequest.objects.filter(key=f"api:{event.pk}", change="switched").exists()
    assert SyncRun.objects.filter(status="queued").exists()
    assert switch_of(page(admin_client, f"/e/{schema}/definitions/"), "Signed Up") == "false"


def test_a_definitions_switch_on_its_page_and_in_the_list(admin_client, sync_env, sync_queue):
    schema = sync_env.warehouse_schema
    definition = definition_create(environment=sync_env, name="Clicked Sign Up", groups=CLICKED_SIGN_UP)
    assert switch_of(page(admin_client, f"/e/{schema}/definitions/"), "Clicked Sign Up") == "true"
    response = admin_client.post(f"/e/{schema}/definitions/{definition.pk}/sync", {"sync": "off"})
    assert response.status_code == 302 and response["Location"] == f"/e/{schema}/definitions/{definition.pk}/"
    text = page(admin_client, response["Location"])
    assert switch_of(text, "Clicked Sign Up") == "false"
    assert "the warehouse has no table for it" in text
    assert Definition.objects.get(pk=definition.pk).sync_enabled is False
    assert "Sync to warehouse turned off" in page(admin_client, f"/e/{schema}/definitions/{definition.pk}/history")
    admin_client.post(f"/e/{schema}/definitions/{definition.pk}/sync", {"sync": "on", "return_to": "list"})
    assert Definition.objects.get(pk=definition.pk).sync_enabled is True


def test_the_sync_page_lists_names_past_the_cap_and_paused_events(admin_client, sync_env, track, sync_queue, settings):
    settings.SYNC_API_EVENT_TABLES_MAX = 1
    schema = sync_env.warehouse_schema
    track("Order #1", "Order #2", "Order #2", "Order #3")
    definition = definition_create(environment=sync_env, name="Clicked Sign Up", groups=CLICKED_SIGN_UP)
    definition_sync_set(definition=definition, enabled=False)
    sync(sync_env)
    text = page(admin_client, f"/e/{schema}/sync/")
    section = text[text.index("Not synced (limit reached)") :]
    limited = section[: section.index("</table>")]
    assert "Order #2" in limited and "Order #3" in limited and "Order #1" not in limited
    assert re.search(r'Order #2</a>.*?<td class="num">2</td>', limited, re.S)  # its count
    assert "1 of 3 custom event names logged via the API has a table" in text
    paused = text[text.index("Paused (sync switched off)") :]
    assert "Clicked Sign Up" in paused[: paused.index("</table>")]
    # Turned on by hand from the sync page: past the cap, it gets a table at the next sync.
    order3 = ApiEvent.objects.get(name="Order #3")
    response = admin_client.post(f"/e/{schema}/api-events/{order3.pk}/sync", {"sync": "on", "return_to": "sync"})
    assert response["Location"] == f"/e/{schema}/sync/"
    sync(sync_env)
    text = page(admin_client, f"/e/{schema}/sync/")
    assert "Order #3" not in text[text.index("Not synced (limit reached)") :].split("</table>")[0]
    assert "<code>order_3</code>" in text
    api_events = text[text.index("Events logged via the API") :]
    assert "2 of 3 custom event names logged via the API have a table" in api_events


def test_the_api_events_page(admin_client, sync_env, track, make_environment):
    schema = sync_env.warehouse_schema
    track("Signed Up")
    sync(sync_env)
    event = ApiEvent.objects.get()
    text = page(admin_client, f"/e/{schema}/api-events/{event.pk}/")
    assert "Signed Up" in text and "logged via API" in text and "synced" in text
    assert f"SELECT count(*) FROM {schema}.signed_up;" in text
    assert switch_of(text, "Signed Up") == "true"
    other = make_environment(name="staging")
    assert admin_client.get(f"/e/{other.warehouse_schema}/api-events/{event.pk}/").status_code == 404
    response = admin_client.post(f"/e/{schema}/api-events/{event.pk}/sync", {"sync": "sideways"}, follow=True)
    assert "the sync setting must be one of auto, on, off, not 'sideways'" in html.unescape(response.content.decode())
    assert ApiEvent.objects.get().sync == "auto"
    definition = definition_create(
        environment=sync_env, name="Signed Up", groups=[{"kind": "custom", "event_name": "Signed Up"}]
    )
    text = page(admin_client, f"/e/{schema}/api-events/{event.pk}/")
    assert "synced as the definition 'Signed Up'" in text
    assert f"/e/{schema}/definitions/{definition.pk}/" in text


def test_the_pages_say_where_a_name_came_from_and_that_server_names_come_first(
    admin_client, sync_env, track, heap_track, settings
):
    settings.SYNC_API_EVENT_TABLES_MAX = 1
    schema = sync_env.warehouse_schema
    heap_track("Junk")  # first seen, but only a browser sent it
    track("Signed Up")
    sync(sync_env)
    text = page(admin_client, f"/e/{schema}/sync/")
    assert "At most 1 get one automatically (SYNC_API_EVENT_TABLES_MAX): first the names a server API logged" in (
        text.replace("<code>", "").replace("</code>", "")
    )
    limited = text[text.index("Not synced (limit reached)") :].split("</table>")[0]
    assert re.search(r">Junk</a> <span[^>]*>not synced \(limit reached\)</span> <span[^>]*>browser</span>", limited)
    assert "Signed Up" not in limited
    junk, signed_up = ApiEvent.objects.get(name="Junk"), ApiEvent.objects.get(name="Signed Up")
    text = page(admin_client, f"/e/{schema}/api-events/{junk.pk}/")
    assert "<th>Seen from</th><td>browser</td>" in text.replace("> <", "><")
    assert "which go first to names a server API logged" in text
    text = page(admin_client, f"/e/{schema}/api-events/{signed_up.pk}/")
    assert "<th>Seen from</th><td>server API</td>" in text.replace("> <", "><")
    text = page(admin_client, f"/e/{schema}/definitions/")
    assert "up to a limit (names a server API logged first)" in text
    for name, seen_from in (("Junk", "browser"), ("Signed Up", "server API")):
        row = text[text.index(f">{name}</a>") :].split("</tr>")[0]
        assert f'logged via API</span> <span class="muted">{seen_from}</span>' in row
