"""The labeler's pieces a person meets in heapsite (launch form, sites setting) and the selectors it builds."""

import pytest
from django.contrib.staticfiles import finders
from django.test import RequestFactory

from definitions.compiler import compile_selector
from definitions.labeler.origins import clean_origins, labeler_origin_allowed, origin_of
from definitions.labeler.selectors import element_selector, stable_class
from definitions.services import definition_create

GROUPS = [{"kind": "click", "conditions": [{"type": "selector", "value": "#buy"}]}]


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Shop.Example.com/pricing?x=1#top", "https://shop.example.com"),
        ("https://shop.example.com:443/", "https://shop.example.com"),
        ("http://localhost:8000/demo/", "http://localhost:8000"),
        ("http://[::1]:8000/", "http://[::1]:8000"),
        ("javascript:alert(1)", None),
        ("https://user:pw@shop.example.com/", None),
        ("shop.example.com", None),
        ("https://shop.example.com:99999/", None),
    ],
)
def test_origins_are_written_as_browsers_send_them(url, origin):
    assert origin_of(url) == origin


def test_sites_are_cleaned_one_per_line():
    assert clean_origins("https://a.example/x\nhttps://a.example, http://b.example:8080\n\n") == (
        ["https://a.example", "http://b.example:8080"],
        [],
    )
    assert clean_origins("ftp://x.example")[1] == ["'ftp://x.example' is not an http(s) address"]


def test_the_demo_shop_origin_is_an_exact_host_of_heapsite_on_the_requests_port(environment, settings):
    settings.ALLOWED_HOSTS = ["heapsite.example.com", ".example.com", "*"]
    request = RequestFactory().get("/", HTTP_HOST="heapsite.example.com")
    allowed = lambda origin: labeler_origin_allowed(environment=environment, origin=origin, request=request)  # noqa: E731
    assert allowed("http://heapsite.example.com")
    assert not allowed("http://evil.example.com")  # a wildcard host never counts
    assert not allowed("http://heapsite.example.com:8080")  # another port is another server
    assert not allowed("https://heapsite.example.com")
    environment.labeler_demo_shop = False
    assert not allowed("http://heapsite.example.com")


def test_recorded_elements_get_selectors_from_their_stable_parts():
    assert element_selector({"tag": "a", "id": "hero-cta", "classes": ["btn", "px-6"]}) == "#hero-cta"
    button = {
        "tag": "button",
        "classes": ["btn", "px-6", "md:px-8", "Button_root__x7f3a", "css-1k2j3l"],
        "attrs": {"type": "submit", "data-plan": 'say "pro"', "style": "color: red"},
    }
    selector = element_selector(button)
    assert selector == 'button.btn[type="submit"][data-plan="say \\"pro\\""]'
    compile_selector(selector)  # the compiler takes it
    assert element_selector({"tag": "path", "ns": "svg"}) == ""
    assert [stable_class(c) for c in ("feature-more", "flex", "hover:bg-red-500", "sc-bdVaJa", "card")] == [
        True,
        False,
        False,
        False,
        True,
    ]


def test_the_launch_form_on_definitions_and_an_events_page(admin_client, environment):
    page = admin_client.get("/e/main_production/definitions/").content.decode()
    assert "Label on your site" in page
    assert 'value="http://testserver/demo/?env=main_production"' in page
    definition = definition_create(environment=environment, name="Bought", groups=GROUPS)
    assert "Label on your site" in admin_client.get(f"/e/main_production/definitions/{definition.pk}/").content.decode()


def test_admins_set_the_labeler_sites_on_the_environment_page(admin_client, environment):
    response = admin_client.post(
        "/e/main_production/labeler-sites/", {"labeler_origins": "https://Shop.example.com/\nhttp://b.example:81"}
    )
    assert response.status_code == 302
    environment.refresh_from_db()
    assert environment.labeler_origins == ["https://shop.example.com", "http://b.example:81"]
    assert environment.labeler_demo_shop is False  # the box was not ticked
    admin_client.post("/e/main_production/labeler-sites/", {"labeler_origins": "not a site", "labeler_demo_shop": "on"})
    environment.refresh_from_db()
    assert environment.labeler_origins == ["https://shop.example.com", "http://b.example:81"]  # refused whole
    page = admin_client.get("/e/main_production/").content.decode()
    assert "https://shop.example.com" in page and "Visual labeler sites" in page


def test_the_labeler_script_is_found_next_to_either_heap_js(client):
    # heap.js loads "labeler.js" relative to its own URL: /static/heap.js or Heap's /js/heap-<app id>.js.
    assert finders.find("labeler.js")
    response = client.get("/js/labeler.js")
    assert response.status_code == 302 and response["Location"] == "/static/labeler.js"
