"""The demo product, "Paperplane" (an email-marketing SaaS): its pages and what can be clicked on them.

Pure data, built once per run: every page lists its interactions with the element hierarchy the
capture snippet would send (docs/api.md "Element hierarchy": target first, then ancestors up to
<body>, then <html>), so the demo exercises selectors, URL patterns and text conditions the way a
real site would — utility classes included.
"""

from .content import blog_posts, content_pages
from .elements import APP, DOCS, WWW, Interaction, Page, hierarchy_for
from .marketing import PLANS, marketing_pages
from .product import product_pages

__all__ = ["APP", "DOCS", "PLANS", "WWW", "Interaction", "Page", "blog_posts", "build_site", "hierarchy_for"]


def build_site() -> dict[str, Page]:
    return {**marketing_pages(), **content_pages(), **product_pages()}
