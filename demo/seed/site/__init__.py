"""The demo product, Acme Boards — the shop under /demo/ — as the seed generator sees it.

shop.py says what visitors do on each page (by CSS selector); shop.json says what those elements
are to heap.js (captured from the real pages). Together they give every page its interactions with
the exact hierarchy, text and href that live capture records, so definitions and Top interactions
made from your own clicks on /demo/ match the seeded history.
"""

from functools import cache

from .capture import read_shop_json
from .elements import DOMAIN, ORIGIN, Interaction, Page, hierarchy_for
from .shop import PLANS, blog_posts, site_spec

__all__ = ["DOMAIN", "ORIGIN", "PLANS", "Interaction", "Page", "blog_posts", "build_site", "hierarchy_for"]


@cache
def _described() -> dict:
    return read_shop_json()


def build_site() -> dict[str, Page]:
    described = _described()
    pages: dict[str, Page] = {}
    for key, spec in site_spec().items():
        seen = described[key]
        page = Page(
            key,
            DOMAIN,
            spec.path,
            seen["title"],
            query=spec.query,
            engagement=spec.engagement,
            exit_rate=spec.exit_rate,
            app=spec.app,
        )
        for kind, selector, goes_to, weight, tracks in spec.interactions:
            element = seen["elements"][selector]
            target = element["target"]
            page.interactions.append(
                Interaction(
                    kind,
                    element["hierarchy"][0],
                    element["hierarchy"][1:],
                    text=target.get("text", ""),
                    href=target.get("href", ""),  # as heap.js sends it: the link's href attribute
                    goes_to=goes_to,
                    weight=weight,
                    tracks=tracks,
                )
            )
        pages[key] = page
    return pages
