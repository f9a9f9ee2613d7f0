import re

from warehouse.models import Environment


def shown_key(response) -> str:
    return re.search(r'<pre id="server-key">([^<]+)</pre>', response.content.decode()).group(1)


def test_creating_an_environment_in_admin_shows_its_key_once(admin_client, make_environment):
    project = make_environment().project

    response = admin_client.post("/admin/warehouse/environment/add/", {"project": project.pk, "name": "staging"})

    assert response.status_code == 200
    environment = Environment.objects.get(name="staging")
    assert environment.warehouse_schema == "main_staging", "derived from project and name"
    assert environment.check_api_key(shown_key(response))
    change_page = admin_client.get(f"/admin/warehouse/environment/{environment.pk}/change/").content.decode()
    assert shown_key(response) not in change_page


def test_admin_rejects_a_bad_schema_name(admin_client, make_environment):
    project = make_environment().project

    response = admin_client.post(
        "/admin/warehouse/environment/add/", {"project": project.pk, "name": "staging", "warehouse_schema": "pg_bad"}
    )

    assert "reserved by PostgreSQL" in response.content.decode()
    assert not Environment.objects.filter(name="staging").exists()


def test_admin_action_rotates_one_key(admin_client, environment):
    response = admin_client.post(
        "/admin/warehouse/environment/",
        {"action": "rotate_server_key", "_selected_action": [environment.pk]},
    )

    environment.refresh_from_db()
    assert environment.check_api_key(shown_key(response))
    assert not environment.check_api_key("test-server-key")


def test_admin_lists_projects_environments_and_users(admin_client, environment):
    for url in ["/admin/warehouse/project/", "/admin/warehouse/environment/", "/admin/auth/user/"]:
        assert admin_client.get(url).status_code == 200
