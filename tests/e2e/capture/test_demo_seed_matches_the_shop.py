"""The seeded demo history is made of the shop's real elements: what heap.js describes on /demo/ today is
what demo/seed/site/shop.json (the seed's source) says, element for element.

After changing the shop's pages, regenerate it: `python manage.py capture_demo_site` against `make run`, or
run this test with HEAPSITE_WRITE_SHOP_JSON=1.
"""

import os

from demo.seed.site.capture import describe_site, read_shop_json, write_shop_json


def test_the_seed_describes_the_shop_exactly_as_heap_js_does(page, live_server, transactional_db, make_environment):
    make_environment("main", "production")  # the shop's snippet needs its environment
    described = describe_site(page, live_server.url)
    if os.environ.get("HEAPSITE_WRITE_SHOP_JSON") == "1":
        write_shop_json(described)
    recorded = read_shop_json()
    assert sorted(described) == sorted(recorded), "pages of demo/seed/site/shop.py and shop.json differ"
    for key, seen in described.items():
        assert seen == recorded[key], (
            f"{key}: the shop's page changed since shop.json was captured; run `manage.py capture_demo_site`"
        )
