import pytest

from definitions.models import Definition
from definitions.services import definition_create

CTA = [{"kind": "click", "conditions": [{"type": "selector", "value": "#cta"}]}]
KEY = "test-server-key"


@pytest.fixture
def api(client, environment):
    base = f"/api/definitions/{environment.warehouse_schema}/"

    def call(method, suffix="", body=None, key=KEY, **extra):
        headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
        kwargs = {"content_type": "application/json", **headers, **extra}
        if body is not None:
            kwargs["data"] = body
        return getattr(client, method)(base + suffix, **kwargs)

    return call


def test_the_server_key_is_required(api):
    assert api("get", key=None).json()["details"][0]["field"] == "Authorization"
    response = api("get", key="wrong")
    assert response.status_code == 401 and response.json()["error"] == "wrong server key"


def test_create_get_update_list_delete(api, environment):
    response = api("post", body={"name": "Clicked CTA", "groups": CTA, "category": "Signup"})
    assert response.status_code == 201
    created = response.json()
    assert (created["table_name"], created["kind"], created["version"]) == ("clicked_cta", "click", 1)
    pk = created["id"]
    assert api("get", f"{pk}").json()["groups"] == CTA
    response = api("patch", f"{pk}", body={"name": "Clicked the CTA"})
    assert response.json()["table_name"] == "clicked_the_cta"
    assert [d["name"] for d in api("get").json()["definitions"]] == ["Clicked the CTA"]
    assert api("delete", f"{pk}").status_code == 204
    assert not Definition.objects.exists()
    assert api("get", f"{pk}").status_code == 404


def test_the_sync_switch_through_the_api(api, environment):
    created = api("post", body={"name": "Clicked CTA", "groups": CTA, "sync_enabled": False}).json()
    assert created["sync_enabled"] is False
    assert Definition.objects.get().sync_enabled is False
    assert api("patch", f"{created['id']}", body={"sync_enabled": True}).json()["sync_enabled"] is True
    response = api("patch", f"{created['id']}", body={"sync_enabled": "yes"})
    assert response.status_code == 400
    assert response.json()["details"] == [{"field": "sync_enabled", "message": "must be true or false"}]
    assert Definition.objects.get().sync_enabled is True


def test_bad_definitions_get_400_naming_each_field(api):
    response = api(
        "post",
        body={"name": "X", "groups": [{"kind": "click", "conditions": [{"type": "selector", "value": "a::after"}]}]},
    )
    assert response.status_code == 400
    assert response.json()["details"] == [
        {"field": "groups[0].conditions[0]", "message": "Pseudo-elements are not supported ('::after') at character 2"}
    ]
    assert api("post", body={"groups": CTA}).json()["details"][0] == {"field": "name", "message": "required"}
    assert api("post", body={"name": "x", "groups": CTA, "colour": 1}).json()["details"][0]["field"] == "colour"
    assert api("put", "1", body={"name": "x"}).status_code == 404


def test_validate_and_preview(api, environment):
    assert api("post", "validate", body={"groups": CTA}).json() == {"valid": True, "errors": {}}
    invalid = api(
        "post",
        "validate",
        body={"groups": [{"kind": "click", "conditions": [{"type": "text", "op": "regex", "value": "("}]}]},
    ).json()
    assert invalid["valid"] is False and "Invalid regular expression" in invalid["errors"]["groups[0].conditions[0]"]
    preview = api("post", "preview", body={"groups": CTA}).json()
    assert preview["total"] == 0 and len(preview["days"]) == 30


def test_export_import_copy(api, environment, make_environment, client):
    definition_create(environment=environment, name="Clicked CTA", groups=CTA)
    document = api("get", "export").json()
    staging = make_environment(name="staging", api_key="staging-key")
    response = client.post(
        f"/api/definitions/{staging.warehouse_schema}/import",
        data=document,
        content_type="application/json",
        HTTP_AUTHORIZATION="Bearer staging-key",
    )
    assert response.status_code == 200
    assert Definition.objects.filter(environment=staging, name="Clicked CTA").exists()
    dev = make_environment(name="dev", api_key="dev-key")
    ids = [d["id"] for d in api("get").json()["definitions"]]
    wrong = api("post", "copy", body={"target": dev.warehouse_schema, "target_server_key": "nope", "ids": ids})
    assert wrong.status_code == 401
    response = api("post", "copy", body={"target": dev.warehouse_schema, "target_server_key": "dev-key", "ids": ids})
    assert [d["name"] for d in response.json()["definitions"]] == ["Clicked CTA"]
