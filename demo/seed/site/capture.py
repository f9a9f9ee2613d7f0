"""Ask heap.js, on the real shop pages, what each interaction of the site model looks like.

`describe_site(page, base_url)` drives a Playwright page over every page of shop.site_spec() and
returns {page key: {"title", "elements": {selector: {"target", "hierarchy"}}}} from heap.js's own
`heap._describe(element)`: exactly what a click there sends. `manage.py capture_demo_site` writes it
to shop.json; tests/e2e/capture/test_demo_seed_matches_the_shop.py checks shop.json is still true.
"""

import json
from pathlib import Path

from .shop import site_spec

SHOP_JSON = Path(__file__).with_name("shop.json")

_DESCRIBE = """(selectors) => {
  const found = {};
  for (const selector of selectors) {
    const element = document.querySelector(selector);
    found[selector] = element ? heap._describe(element) : null;
  }
  return {title: document.title, elements: found};
}"""


def _sign_up(page, base_url: str) -> None:
    """The welcome page exists only right after signing up."""
    page.goto(f"{base_url}/demo/signup/")
    page.fill("#signup-name", "Seed Capture")
    page.fill("#signup-email", "capture@example.com")
    page.fill("#signup-password", "capture-password")
    page.select_option("#signup-team-size", "1-10")
    page.check("#signup-terms")
    page.click("#signup-submit")
    page.wait_for_url("**/demo/signup/welcome/")


def describe_site(page, base_url: str) -> dict:
    """The model's pages as heap.js describes them (events to /api/collect are answered, not stored)."""
    page.route("**/api/collect", lambda route: route.fulfill(status=200, content_type="application/json", body="{}"))
    described = {}
    for key, spec in site_spec().items():
        if key == "welcome":
            _sign_up(page, base_url)
        else:
            page.goto(base_url + spec.url)
        page.wait_for_function("window.heap && window.heap._loaded === true")
        selectors = [selector for _, selector, *_ in spec.interactions]
        result = page.evaluate(_DESCRIBE, selectors)
        missing = [selector for selector, element in result["elements"].items() if element is None]
        if missing:
            raise LookupError(f"{spec.url} has no element for {missing} (update demo/seed/site/shop.py)")
        described[key] = result
    page.unroute("**/api/collect")
    return described


def write_shop_json(described: dict) -> None:
    SHOP_JSON.write_text(json.dumps(described, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def read_shop_json() -> dict:
    return json.loads(SHOP_JSON.read_text(encoding="utf-8"))
