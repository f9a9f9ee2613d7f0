"""The environment page's "accept server events without a key" switch, its command, and Heap's snippet there."""

import html
import re

import pytest
from django.core.management import CommandError, call_command

from warehouse.models import Membership, Role


def test_admins_turn_the_switch_on_and_off_with_the_risk_explained(admin_client, environment):
    page = admin_client.get(f"/e/{environment.warehouse_schema}/").content.decode()
    assert "anyone\n      who knows it can send events" in page
    assert "off — the server key is required" in page

    response = admin_client.post(f"/e/{environment.warehouse_schema}/keyless-server-api/", {"keyless_server_api": "on"})
    assert response.status_code == 302
    environment.refresh_from_db()
    assert environment.keyless_server_api
    page = admin_client.get(f"/e/{environment.warehouse_schema}/").content.decode()
    assert "on — server events are accepted without a key" in page
    assert "Server events without a key are now accepted" in page

    admin_client.post(f"/e/{environment.warehouse_schema}/keyless-server-api/", {})
    environment.refresh_from_db()
    assert not environment.keyless_server_api


@pytest.mark.django_db
def test_only_admins_of_the_environment_change_it(client, django_user_model, environment):
    editor = django_user_model.objects.create_user("analyst", is_staff=True)
    Membership.objects.create(user=editor, environment=environment, role=Role.EDITOR)
    client.force_login(editor)
    url = f"/e/{environment.warehouse_schema}/keyless-server-api/"
    assert client.post(url, {"keyless_server_api": "on"}).status_code == 403
    environment.refresh_from_db()
    assert not environment.keyless_server_api
    assert f'action="{url}"' not in client.get(f"/e/{environment.warehouse_schema}/").content.decode()


def test_the_command_sets_it(environment, capsys):
    call_command("environment_set", environment.warehouse_schema, "keyless_server_api=true")
    environment.refresh_from_db()
    assert environment.keyless_server_api
    assert capsys.readouterr().out == "main_production: keyless_server_api = true\n"
    call_command("environment_set", environment.warehouse_schema, "keyless_server_api=off")
    environment.refresh_from_db()
    assert not environment.keyless_server_api


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["keyless_server_api"], "expected name=value, got 'keyless_server_api'"),
        (["keyless=true"], "unknown setting 'keyless'; known: keyless_server_api"),
        (["keyless_server_api=maybe"], "keyless_server_api takes true or false, not 'maybe'"),
    ],
)
def test_the_command_refuses_what_it_does_not_know(environment, arguments, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("environment_set", environment.warehouse_schema, *arguments)
    environment.refresh_from_db()
    assert not environment.keyless_server_api


def test_the_page_shows_heaps_classic_snippet_pointing_here(admin_client, environment):
    page = admin_client.get(f"/e/{environment.warehouse_schema}/", HTTP_HOST="127.0.0.1:8000").content.decode()
    snippet = html.unescape(re.search(r'<pre id="heap-snippet">(.*?)</pre>', page, re.S).group(1))
    assert 'r.src="http://127.0.0.1:8000/js/heap-"+e+".js"' in snippet
    assert f'heap.load("{environment.app_id}");' in snippet
