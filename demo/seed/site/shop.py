"""What visitors do on Acme Boards, page by page: the demo shop under /demo/ (demo/shop/ and
templates/demo/), named by CSS selectors on its real pages.

Each interaction is (type, selector, page it leads to, weight, custom event it tracks). What the
element looks like to heap.js (hierarchy, text, href) is not written here: `manage.py
capture_demo_site` asks heap.js on the real pages and keeps the answers in shop.json, and a browser
test checks they still match. Weights are relative chances within a page; a submit of weight 0 is
the page's conversion (signing up, logging in, paying).
"""

from dataclasses import dataclass, field

from demo.shop.posts import POSTS

# (plan, label, monthly price in dollars): the pricing page's plans (Enterprise's "Custom" is billed 49).
PLANS = [("starter", "Starter", 0), ("pro", "Pro", 12), ("enterprise", "Enterprise", 49)]

Spec = tuple[str, str, str | None, float, str | None]  # (type, selector, goes_to, weight, tracks)


@dataclass
class PageSpec:
    url: str  # path and query of the real page, as captured
    engagement: float = 1.0
    exit_rate: float = 0.35
    app: bool = False
    interactions: list[Spec] = field(default_factory=list)

    @property
    def path(self) -> str:
        return self.url.split("?")[0]

    @property
    def query(self) -> str:
        return "?" + self.url.split("?", 1)[1] if "?" in self.url else ""


HEADER: list[Spec] = [
    ("click", "a[data-nav=home]", "home", 0.2, None),
    ("click", "a[data-nav=product]", "home", 0.3, None),
    ("click", "a[data-nav=pricing]", "pricing", 0.8, None),
    ("click", "a[data-nav=blog]", "blog", 0.7, None),
    ("click", "a[data-nav=app]", "app:dashboard", 0.15, None),
    ("click", "#header-login", "login", 0.4, None),
    ("click", "#header-signup", "signup", 0.8, None),
]
FOOTER: list[Spec] = [
    ("click", "footer a.footer-link[href='/demo/blog/']", "blog", 0.05, None),
    ("click", "footer a.footer-link[href='/demo/pricing/']", "pricing", 0.05, None),
]
APP_NAV: list[Spec] = [
    ("click", "a.app-nav-link[data-route=dashboard]", "app:dashboard", 0.1, None),
    ("click", "a.app-nav-link[href='/demo/app/boards/1']", "app:board:1", 0.4, None),
    ("click", "a.app-nav-link[href='/demo/app/boards/2']", "app:board:2", 0.3, None),
    ("click", "a.app-nav-link[data-route=settings]", "app:settings", 0.15, None),
    ("click", "a.app-nav-link[data-route=billing]", "app:billing", 0.1, None),
]


def blog_posts() -> list[tuple[str, str]]:
    """(slug, title) of the shop's posts, newest first."""
    return [(post.slug, post.title) for post in POSTS]


def _post_page(slug: str) -> PageSpec:
    related = [other.slug for other in POSTS if other.slug != slug]
    return PageSpec(
        f"/demo/blog/{slug}/",
        engagement=0.9,
        exit_rate=0.55,
        interactions=[
            ("click", "a.back-link", "blog", 0.3, None),
            ("click", "button.share-button[data-share=copy]", None, 0.15, None),
            ("click", "button.share-button[data-share=email]", None, 0.1, None),
            *(
                ("click", f"#related a.post-link[href='/demo/blog/{other}/']", f"post:{other}", 0.25, None)
                for other in related
            ),
            *HEADER,
        ],
    )


def _board_page(number: int) -> PageSpec:
    return PageSpec(
        f"/demo/app/boards/{number}",
        engagement=1.6,
        exit_rate=0.2,
        app=True,
        interactions=[
            ("click", "#filter-mine", None, 0.5, None),
            ("click", "#activity-tab", None, 0.4, None),
            ("click", "li.kanban-card", None, 0.6, None),
            ("click", "#board-title", None, 0.1, None),
            *APP_NAV,
        ],
    )


def _checkout_page(plan: str) -> PageSpec:
    return PageSpec(
        f"/demo/app/billing?plan={plan}",
        engagement=2.5,
        exit_rate=0.3,
        app=True,
        interactions=[
            ("change", "#card-name", None, 1.0, None),
            ("change", "#billing-yearly", None, 0.4, None),
            ("click", "#pay-now", None, 0.1, None),
            ("submit", "#checkout-form", "app:dashboard", 0.0, "Order Completed"),
            ("click", "#billing-back", "app:billing", 0.3, None),
        ],
    )


def site_spec() -> dict[str, PageSpec]:
    home_posts = [post.slug for post in POSTS[:2]]
    pages = {
        "home": PageSpec(
            "/demo/",
            engagement=1.2,
            exit_rate=0.3,
            interactions=[
                *HEADER,
                ("click", "#hero-cta", "signup", 2.0, None),
                ("click", "#hero-pricing", "pricing", 1.2, None),
                *(
                    ("click", f"button.feature-more[data-feature={feature}]", None, 0.4, None)
                    for feature in ("boards", "sprints", "retros")
                ),
                *(
                    ("click", f"#latest-posts a.post-link[data-post={slug}]", f"post:{slug}", 0.4, None)
                    for slug in home_posts
                ),
                ("change", "#newsletter-email", None, 0.3, None),
                ("click", "#newsletter-submit", None, 0.25, None),
                *FOOTER,
            ],
        ),
        "pricing": PageSpec(
            "/demo/pricing/",
            engagement=1.8,
            exit_rate=0.3,
            interactions=[
                *HEADER,
                ("change", "#billing-monthly", None, 0.5, None),
                ("change", "#billing-yearly", None, 0.8, None),
                ("click", "button.plan-cta[data-plan=starter]", "signup", 0.7, None),
                ("click", "button.plan-cta[data-plan=pro]", "signup", 1.5, None),
                ("click", "button.plan-cta[data-plan=enterprise]", "signup", 0.5, None),
                ("click", "#faq-trial summary", None, 0.3, None),
                *FOOTER,
            ],
        ),
        "signup": PageSpec(
            "/demo/signup/",
            engagement=3.5,
            exit_rate=0.45,
            interactions=[
                ("change", "#signup-name", None, 0.9, None),
                ("change", "#signup-email", None, 1.0, None),
                ("change", "#signup-password", None, 0.9, None),
                ("change", "#signup-team-size", None, 0.7, None),
                ("change", "#signup-plan", None, 0.3, None),
                ("change", "#signup-terms", None, 0.6, None),
                ("click", "#signup-submit", None, 0.2, None),
                ("submit", "#signup-form", "welcome", 0.0, "Signed Up"),
                *HEADER,
            ],
        ),
        "welcome": PageSpec(
            "/demo/signup/welcome/",
            engagement=0.2,
            exit_rate=0.1,
            interactions=[("click", "#welcome-open-app", "app:dashboard", 3.0, None), *HEADER],
        ),
        "login": PageSpec(
            "/demo/login/",
            engagement=2.2,
            exit_rate=0.1,
            interactions=[
                ("change", "#login-email", None, 1.0, None),
                ("change", "#login-password", None, 1.0, None),
                ("click", "#login-submit", None, 0.2, None),
                ("submit", "#login-form", "app:dashboard", 0.0, None),
                ("click", "#login-signup", "signup", 0.1, None),
            ],
        ),
        "blog": PageSpec(
            "/demo/blog/",
            engagement=0.6,
            exit_rate=0.25,
            interactions=[
                *(
                    ("click", f"#blog a.post-link[href='/demo/blog/{slug}/']", f"post:{slug}", 0.3, None)
                    for slug, _ in blog_posts()
                ),
                *HEADER,
                *FOOTER,
            ],
        ),
        **{f"post:{slug}": _post_page(slug) for slug, _ in blog_posts()},
        "app:dashboard": PageSpec(
            "/demo/app/",
            engagement=1.5,
            exit_rate=0.2,
            app=True,
            interactions=[
                ("click", "li[data-board-id='1'] a.board-link", "app:board:1", 0.5, None),
                ("click", "li[data-board-id='2'] a.board-link", "app:board:2", 0.4, None),
                ("click", "#new-board", None, 0.3, "Board Created"),
                *APP_NAV,
            ],
        ),
        "app:board:1": _board_page(1),
        "app:board:2": _board_page(2),
        "app:settings": PageSpec(
            "/demo/app/settings",
            engagement=1.0,
            exit_rate=0.3,
            app=True,
            interactions=[
                ("change", "#settings-display-name", None, 0.5, None),
                ("change", "#settings-timezone", None, 0.4, None),
                ("change", "#settings-digest", None, 0.4, None),
                ("click", "#settings-save", None, 0.25, None),
                ("submit", "#settings-form", None, 0.3, None),
                *APP_NAV,
            ],
        ),
        "app:billing": PageSpec(
            "/demo/app/billing",
            engagement=0.5,
            exit_rate=0.3,
            app=True,
            interactions=[
                ("click", "a.upgrade-plan[data-plan=starter]", "checkout:starter", 0.2, None),
                ("click", "a.upgrade-plan[data-plan=pro]", "checkout:pro", 1.0, None),
                ("click", "a.upgrade-plan[data-plan=enterprise]", "checkout:enterprise", 0.4, None),
                *APP_NAV,
            ],
        ),
        **{f"checkout:{plan}": _checkout_page(plan) for plan, _, _ in PLANS},
    }
    return pages
