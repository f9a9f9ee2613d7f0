"""A NUL byte in a URL or an app id is a 4xx naming the problem, never a 500 (issue 17)."""

import json

import pytest

from warehouse.models import RawEvent

pytestmark = pytest.mark.django_db

INGESTION = ["/api/collect", "/api/track", "/api/identify", "/api/v1/identify", "/api/add_user_properties"]


@pytest.mark.parametrize("path", INGESTION)
def test_nul_in_app_id_on_every_ingestion_api(client, environment, path):
    body = {"app_id": environment.app_id + "\x00", "identity": "a@example.com", "event": "E", "user_id": 5}
    response = client.post(
        path, data=json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION="Bearer test-server-key"
    )
    assert response.status_code == 400, response.content
    details = response.json()["details"]
    assert {"field": "app_id", "message": "contains a NUL byte"} in details
    assert RawEvent.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    [
        "/e/main%00production/",
        "/e/main_production%00/sync/",
        "/e/main_production/definitions/%00/",
        "/e/main_production/raw/?path=%2F%00",
        "/e/main_production/raw/?a%00b=1",
        "/e/%00/sql/",
        "/js/heap-%00.js",
    ],
)
def test_nul_in_an_environment_url_is_a_400_page(admin_client, environment, url):
    response = admin_client.get(url)
    assert response.status_code == 400
    assert "text/html" in response["Content-Type"]
    assert "NUL byte" in response.content.decode()


def test_nul_in_the_definitions_api_url_is_a_400_with_the_api_error_body(client, environment):
    response = client.get("/api/definitions/main_production%00/", HTTP_AUTHORIZATION="Bearer test-server-key")
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid URL",
        "details": [{"field": "path", "message": "the URL contains a NUL byte"}],
    }


def test_anonymous_callers_get_the_same_400(client, environment):
    assert client.get("/e/main%00production/").status_code == 400
    assert client.post("/api/collect%00", data="{}", content_type="application/json").status_code == 400
