"""The labeler's launch and JSON endpoints refuse what they must: expired, reused and other environments'
tokens, sites that are not the environment's, viewers creating events, and too many requests."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from definitions.labeler.services import FRAGMENT_KEY
from definitions.models import Definition, LabelerToken
from warehouse.models import Membership, Role

SHOP = "https://shop.example.com"
DEMO = "http://testserver"  # the demo shop: served by this heapsite (the test client's host)
GROUPS = [{"kind": "click", "conditions": [{"type": "selector", "value": "#buy"}]}]


@pytest.fixture
def world(make_environment, django_user_model):
    production = make_environment("main", "production")
    staging = make_environment("main", "staging", api_key="other-key")
    production.labeler_origins = [SHOP]
    production.save(update_fields=["labeler_origins"])
    staging.labeler_origins = [SHOP]
    staging.save(update_fields=["labeler_origins"])
    people = {}
    for name, role in (("editor", Role.EDITOR), ("viewer", Role.VIEWER)):
        user = django_user_model.objects.create_user(name, f"{name}@example.com")
        Membership.objects.create(user=user, environment=production, role=role)
        people[name] = Client()
        people[name].force_login(user)
    return {"production": production, "staging": staging, **people}


def launch(client: Client, schema: str = "main_production", url: str = SHOP + "/pricing") -> str:
    """Press "Label on your site": the launch token from the page's link to the site."""
    response = client.post(f"/e/{schema}/labeler/launch", {"url": url})
    assert response.status_code == 200, response.content
    link = response.context["launch"].url
    assert link.startswith(url + "#" + FRAGMENT_KEY + "=" + schema + ".")
    return link.rsplit(".", 1)[1]


def call(method: str, schema: str, name: str, body=None, *, origin: str | None = SHOP, token: str | None = None):
    headers = {}
    if origin is not None:
        headers["HTTP_ORIGIN"] = origin
    if token is not None:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    path = f"/api/labeler/{schema}/{name}"
    anonymous = Client()  # the labeler sends no cookies: only its token speaks for the user
    if body is None:
        return getattr(anonymous, method.lower())(path, **headers)
    return getattr(anonymous, method.lower())(path, json.dumps(body), content_type="application/json", **headers)


def exchange(launch_token: str, schema: str = "main_production", origin: str | None = SHOP):
    return call("POST", schema, "session", {"launch_token": launch_token}, origin=origin)


def access_token(client: Client) -> str:
    response = exchange(launch(client))
    assert response.status_code == 201, response.content
    return response.json()["access_token"]


def test_an_editor_launches_exchanges_counts_and_creates(world):
    response = exchange(launch(world["editor"]))
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == SHOP
    session = response.json()
    assert session["can_edit"] is True and session["environment"]["schema"] == "main_production"
    token = session["access_token"]
    counted = call("POST", "main_production", "count", {"groups": GROUPS, "days": 7}, token=token)
    assert counted.status_code == 200 and counted.json() == {"days": 7, "count": 0}
    created = call("POST", "main_production", "definitions", {"name": "Bought", "groups": GROUPS}, token=token)
    assert created.status_code == 201, created.content
    definition = Definition.objects.get(name="Bought")
    assert created.json()["table_name"] == definition.table_name == "bought"
    assert definition.versions.get().created_by.username == "editor"
    listed = call("GET", "main_production", "definitions", token=token).json()["definitions"]
    assert [d["name"] for d in listed] == ["Bought"]


def test_the_same_validation_errors_as_the_editor(world):
    token = access_token(world["editor"])
    bad = [{"kind": "click", "conditions": [{"type": "selector", "value": "#buy:hover"}]}]
    for name, body in (("count", {"groups": bad, "days": 7}), ("definitions", {"name": "Hovered", "groups": bad})):
        response = call("POST", "main_production", name, body, token=token)
        assert response.status_code == 400
        (detail,) = response.json()["details"]
        assert detail["field"] == "groups[0].conditions[0]"
        assert "Pseudo-classes are not supported" in detail["message"]
    assert not Definition.objects.exists()


@pytest.mark.parametrize(
    "groups",
    [
        [
            {
                "kind": "custom",
                "event_name": "Signed Up",
                "conditions": [{"type": "property", "key": "email", "op": "regex", "value": "^a"}],
            }
        ],
        [
            {
                "kind": "click",
                "conditions": [{"type": "selector", "value": "a"}, {"type": "text", "op": "regex", "value": "^S"}],
            }
        ],
        [
            {
                "kind": "click",
                "conditions": [{"type": "selector", "value": "a"}, {"type": "property", "key": "q", "op": "is_set"}],
            }
        ],
        [{"kind": "pageview", "conditions": [{"type": "path", "value": "/users/*"}]}],
        [{"kind": "click", "conditions": [{"type": "path", "value": "/"}]}],
        [
            {
                "kind": "click",
                "conditions": [
                    {"type": "selector", "value": "a"},
                    {"type": "path", "value": "/"},
                    {"type": "path", "value": "/x"},
                ],
            }
        ],
        [{"kind": "combo", "definitions": [1]}],
        [*GROUPS, *GROUPS],
        [{"kind": "click", "conditions": [{"value": "a"}]}],
    ],
    ids=[
        "property-regex",
        "text-regex",
        "property",
        "pageview",
        "no-selector",
        "two-paths",
        "combo",
        "two-groups",
        "no-type",
    ],
)
def test_the_labeler_counts_and_saves_only_what_the_overlay_sends(world, groups):
    """The session's token is readable by every script on the customer's site: with counts over any
    condition, one could read the raw events bit by bit (an email property by regex, in 109 counts)."""
    token = access_token(world["editor"])
    for name, body in (("count", {"groups": groups, "days": 7}), ("definitions", {"name": "Probe", "groups": groups})):
        response = call("POST", "main_production", name, body, token=token)
        assert response.status_code == 400, response.content
        (detail,) = response.json()["details"]
        assert detail["field"] == "groups" and "the labeler counts and saves one click" in detail["message"]
    assert not Definition.objects.exists()
    overlay = [
        {
            "kind": "submit",
            "conditions": [
                {"type": "selector", "value": "form"},
                {"type": "text", "op": "exact", "value": "Go"},
                {"type": "path", "value": "/"},
            ],
        }
    ]
    assert call("POST", "main_production", "count", {"groups": overlay, "days": 7}, token=token).status_code == 200


@pytest.mark.parametrize("path", ["/\x00", "/\ud800"])
def test_a_clickmap_path_with_a_nul_or_a_lone_surrogate_is_a_named_400(world, path):
    token = access_token(world["viewer"])
    response = call("POST", "main_production", "clickmap", {"path": path}, token=token)
    assert response.status_code == 400, response.content
    assert response.json()["details"][0]["field"] == "path"


def test_a_launch_token_works_once(world):
    token = launch(world["editor"])
    assert exchange(token).status_code == 201
    again = exchange(token)
    assert again.status_code == 401
    assert "expired or was used" in again.json()["error"]


def test_a_launch_token_with_a_lone_surrogate_is_refused_not_a_500(world):
    assert exchange("\ud800").status_code == 401


def test_an_expired_launch_token_is_refused(world):
    token = launch(world["editor"])
    LabelerToken.objects.filter(kind=LabelerToken.Kind.LAUNCH).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert exchange(token).status_code == 401


def test_an_expired_or_closed_access_token_is_refused(world):
    token = access_token(world["editor"])
    assert call("GET", "main_production", "definitions", token=token).status_code == 200
    assert call("DELETE", "main_production", "session", token=token).status_code == 204
    assert call("GET", "main_production", "definitions", token=token).status_code == 401
    token = access_token(world["editor"])
    LabelerToken.objects.filter(kind=LabelerToken.Kind.ACCESS).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call("GET", "main_production", "definitions", token=token).status_code == 401


def test_tokens_of_another_environment_are_refused(world, django_user_model):
    # A token made for production, at staging's endpoints (the same site is allowed on both).
    launch_token = launch(world["editor"])
    assert exchange(launch_token, schema="main_staging").status_code == 401
    token = exchange(launch_token).json()["access_token"]
    for method, name, body in (
        ("POST", "count", {"groups": GROUPS, "days": 7}),
        ("POST", "clickmap", {"path": "/"}),
        ("GET", "definitions", None),
        ("POST", "definitions", {"name": "Elsewhere", "groups": GROUPS}),
    ):
        assert call(method, "main_staging", name, body, token=token).status_code == 401
    assert not Definition.objects.exists()
    # Nor can one launch on an environment one cannot see.
    assert world["editor"].post("/e/main_staging/labeler/launch", {"url": SHOP}).status_code == 404


def test_a_site_that_is_not_the_environments_is_refused(world):
    # Launching onto it: no token is made.
    response = world["editor"].post("/e/main_production/labeler/launch", {"url": "https://evil.example/"})
    assert response.status_code == 302
    assert not LabelerToken.objects.exists()
    # CORS: the preflight from another origin gets no permission; an allowed one does.
    preflight = {"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST", "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "content-type"}
    refused = Client().options("/api/labeler/main_production/session", HTTP_ORIGIN="https://evil.example", **preflight)
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused
    allowed = Client().options("/api/labeler/main_production/session", HTTP_ORIGIN=SHOP, **preflight)
    assert allowed.status_code == 204 and allowed["Access-Control-Allow-Origin"] == SHOP
    assert "Authorization" in allowed["Access-Control-Allow-Headers"]
    # Server side, whatever the browser does: a token used from another origin (or none) does nothing.
    launch_token = launch(world["editor"])
    for origin in ("https://evil.example", None, SHOP + ":8443", "http://shop.example.com"):
        response = exchange(launch_token, origin=origin)
        assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response
    token = exchange(launch_token).json()["access_token"]
    created = call("POST", "main_production", "definitions", {"name": "X", "groups": GROUPS}, token=token, origin=None)
    assert created.status_code == 403
    # A site removed from the list stops working at once.
    world["production"].labeler_origins = []
    world["production"].save(update_fields=["labeler_origins"])
    assert call("GET", "main_production", "definitions", token=token).status_code == 403
    assert not Definition.objects.exists()


def test_a_token_works_only_on_the_site_it_was_made_for(world):
    world["production"].labeler_origins = [SHOP, "https://blog.example.com"]
    world["production"].save(update_fields=["labeler_origins"])
    launch_token = launch(world["editor"])  # for SHOP
    assert exchange(launch_token, origin="https://blog.example.com").status_code == 403
    token = exchange(launch_token).json()["access_token"]
    assert (
        call("GET", "main_production", "definitions", token=token, origin="https://blog.example.com").status_code == 403
    )


def test_the_demo_shop_is_allowed_by_default_and_can_be_turned_off(world):
    assert exchange(launch(world["editor"], url=DEMO + "/demo/"), origin=DEMO).status_code == 201
    world["production"].labeler_demo_shop = False
    world["production"].save(update_fields=["labeler_demo_shop"])
    world["editor"].post("/e/main_production/labeler/launch", {"url": DEMO + "/demo/"})
    assert LabelerToken.objects.filter(origin=DEMO).count() == 2  # the first launch and its session only


def test_a_viewer_counts_but_cannot_create(world):
    response = exchange(launch(world["viewer"]))
    assert response.status_code == 201 and response.json()["can_edit"] is False
    token = response.json()["access_token"]
    assert call("POST", "main_production", "count", {"groups": GROUPS, "days": 30}, token=token).status_code == 200
    created = call("POST", "main_production", "definitions", {"name": "Bought", "groups": GROUPS}, token=token)
    assert created.status_code == 403
    assert not Definition.objects.exists()


def test_an_editor_demoted_to_viewer_can_no_longer_create(world):
    token = access_token(world["editor"])
    Membership.objects.filter(user__username="editor").update(role=Role.VIEWER)
    created = call("POST", "main_production", "definitions", {"name": "Bought", "groups": GROUPS}, token=token)
    assert created.status_code == 403
    Membership.objects.filter(user__username="editor").delete()
    assert call("GET", "main_production", "definitions", token=token).status_code == 401


def test_requests_are_rate_limited_per_session(world, settings):
    settings.LABELER_RATE_LIMIT_PER_MINUTE = 3
    token = access_token(world["editor"])
    statuses = [call("GET", "main_production", "definitions", token=token).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert access_token(world["editor"])  # another session has its own budget


def test_redis_down_is_a_clear_refusal_the_overlay_can_read(world, settings):
    """Without Redis the session's requests cannot be counted: a 503 naming the cause, with CORS headers."""
    token = access_token(world["editor"])
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = call("GET", "main_production", "definitions", token=token)
    assert response.status_code == 503
    assert "cannot reach Redis" in response.json()["error"]
    assert response["Access-Control-Allow-Origin"] == SHOP
