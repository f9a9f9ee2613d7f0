"""The demo product, "Paperplane" (an email-marketing SaaS): its pages and what can be clicked on them.

Pure data, built once per run: every page lists its interactions with the element hierarchy the
capture snippet would send (docs/api.md "Element hierarchy": target first, then ancestors up to
<body>, then <html>), so the demo exercises selectors, URL patterns and text conditions the way a
real site would — utility classes included.
"""

from dataclasses import dataclass, field

WWW = "www.paperplane.example"
DOCS = "docs.paperplane.example"
APP = "app.paperplane.example"


def el(tag: str, id: str | None = None, classes: str = "", ns: str | None = None, **attrs: str) -> dict:
    """One hierarchy element; keyword attrs use _ for - (data_plan -> data-plan)."""
    element: dict = {"tag": tag}
    if ns:
        element["ns"] = ns
    if id is not None:
        element["id"] = id
    if classes:
        element["classes"] = classes.split()
    if attrs:
        element["attrs"] = {name.replace("_", "-"): value for name, value in attrs.items()}
    return element


HTML = el("html", classes="scroll-smooth", lang="en")
BODY = el("body", classes="antialiased bg-white text-slate-900 dark:bg-slate-900")
ROOT = el("div", id="__next")
APP_BODY = el("body", classes="h-full bg-slate-50")
APP_ROOT = el("div", id="app", data_turbo="true")
HEADER = [
    el("ul", classes="hidden md:flex items-center gap-6"),
    el("nav", classes="container mx-auto flex items-center justify-between px-4 md:px-8 py-3", aria_label="Main"),
    el("header", classes="site-header sticky top-0 z-50 border-b bg-white/90 backdrop-blur"),
]
FOOTER = [
    el("ul", classes="footer-links space-y-2 text-sm"),
    el("div", classes="w-1/2 md:w-1/4"),
    el("footer", classes="site-footer mt-24 bg-slate-900 text-slate-300 py-12"),
]


@dataclass
class Interaction:
    type: str  # click, submit, change
    target: dict
    ancestors: list[dict]  # parent first, up to (not including) the page's root/body/html
    text: str = ""
    href: str = ""  # nearest link's resolved href
    goes_to: str | None = None  # page key reached by following it
    weight: float = 1.0
    # A custom event the page tracks right after this interaction (name, properties kind).
    tracks: str | None = None


@dataclass
class Page:
    key: str
    domain: str
    path: str
    title: str
    interactions: list[Interaction] = field(default_factory=list)
    query: str = ""
    # Mean number of non-navigating interactions per visit, and chance of leaving the site here.
    engagement: float = 1.0
    exit_rate: float = 0.35
    app: bool = False

    @property
    def url(self) -> str:
        return f"https://{self.domain}{self.path}"


def _link(text: str, href_path: str, domain: str, goes_to: str | None, target: dict, ancestors: list[dict], **kw):
    href = href_path if href_path.startswith("http") else f"https://{domain}{href_path}"
    return Interaction("click", target, ancestors, text=text, href=href, goes_to=goes_to, **kw)


def _nav_links() -> list[Interaction]:
    li = el("li")
    nav_classes = "nav-link text-sm font-medium text-slate-600 hover:text-blue-600"
    logo_ancestors = HEADER[1:]
    links = [
        _link("Pricing", "/pricing", WWW, "pricing", el("a", classes=nav_classes, href="/pricing"), [li, *HEADER]),
        _link("Blog", "/blog", WWW, "blog", el("a", classes=nav_classes, href="/blog"), [li, *HEADER], weight=0.7),
        _link(
            "Docs",
            f"https://{DOCS}/docs/",
            WWW,
            "docs:getting-started/introduction",
            el("a", classes=nav_classes, href=f"https://{DOCS}/docs/"),
            [li, *HEADER],
            weight=0.5,
        ),
        _link(
            "Log in",
            f"https://{APP}/login",
            WWW,
            "login",
            el("a", classes=nav_classes + " md:ml-auto", href=f"https://{APP}/login"),
            [li, *HEADER],
            weight=0.6,
        ),
        _link(
            "Sign up free",
            "/signup",
            WWW,
            "signup",
            el(
                "a",
                id="nav-signup",
                classes="btn btn-primary rounded-md px-3 py-2 md:px-4 hover:bg-blue-500",
                href="/signup",
            ),
            [li, *HEADER],
            weight=0.8,
        ),
        # Clicking the logo image: the target is the <img>, the link is an ancestor.
        _link(
            "",
            "/",
            WWW,
            "home",
            el("img", classes="h-8 w-auto", alt="Paperplane", src="/static/logo.svg"),
            [el("a", classes="logo flex items-center", href="/", aria_label="Paperplane home"), *logo_ancestors],
            weight=0.3,
        ),
    ]
    return links


def _footer_links() -> list[Interaction]:
    li = el("li")
    cls = "text-slate-400 hover:text-white"
    return [
        _link("Careers", "/careers", WWW, None, el("a", classes=cls, href="/careers"), [li, *FOOTER], weight=0.05),
        _link("Privacy", "/privacy", WWW, None, el("a", classes=cls, href="/privacy"), [li, *FOOTER], weight=0.05),
        _link(
            "Twitter",
            "https://twitter.com/paperplane",
            WWW,
            None,
            el(
                "a",
                classes=cls + " social-link",
                href="https://twitter.com/paperplane",
                target="_blank",
                rel="noopener",
            ),
            [li, *FOOTER],
            weight=0.05,
        ),
    ]


def _newsletter_form(prefix: str) -> list[Interaction]:
    form = el("form", id=f"{prefix}-newsletter", classes="newsletter flex gap-2", method="post", action="/newsletter")
    wrap = [el("div", classes="max-w-md"), *FOOTER[1:]]
    return [
        Interaction(
            "change",
            el(
                "input",
                id=f"{prefix}-newsletter-email",
                classes="input flex-1",
                type="email",
                name="email",
                placeholder="you@company.com",
                autocomplete="email",
            ),
            [form, *wrap],
            weight=0.15,
        ),
        Interaction(
            "click",
            el("button", classes="btn btn-secondary", type="submit"),
            [form, *wrap],
            text="Subscribe",
            weight=0.1,
        ),
        Interaction("submit", form, wrap, weight=0.1, tracks="Newsletter Subscribed"),
    ]


PLANS = [("starter", "Starter", 19), ("pro", "Pro", 49), ("business", "Business", 199)]

BLOG_TOPICS = [
    "open rates",
    "subject lines",
    "deliverability",
    "segmentation",
    "A/B testing",
    "welcome emails",
    "newsletters",
    "drip campaigns",
    "SPF and DKIM",
    "unsubscribe rates",
    "email design",
    "automation",
    "abandoned carts",
    "transactional email",
    "list hygiene",
    "re-engagement",
]
BLOG_FORMS = [
    "{n} ways to improve your {t}",
    "The complete guide to {t}",
    "What we learned sending 1M emails about {t}",
    "{t}: a checklist for {y}",
    "Why your {t} strategy is failing",
    "How Acme doubled conversions with {t}",
    "{t} benchmarks for {y}",
    "A beginner's guide to {t}",
]

DOCS_SECTIONS = {
    "getting-started": ["introduction", "installation", "quickstart", "concepts"],
    "campaigns": ["creating-campaigns", "templates", "scheduling", "ab-tests", "analytics"],
    "audiences": ["importing-contacts", "segments", "custom-fields", "consent"],
    "api": ["authentication", "sending", "webhooks", "rate-limits", "errors", "sdks"],
    "integrations": ["shopify", "stripe", "zapier", "salesforce", "segment"],
}


def _slugify(title: str) -> str:
    out = []
    for char in title.lower():
        out.append(char if char.isalnum() else "-")
    return "-".join(part for part in "".join(out).split("-") if part)


def blog_posts(count: int = 120) -> list[tuple[str, str]]:
    posts = []
    for i in range(count):
        topic = BLOG_TOPICS[i % len(BLOG_TOPICS)]
        form = BLOG_FORMS[(i * 7 + i // len(BLOG_TOPICS)) % len(BLOG_FORMS)]
        title = form.format(n=5 + i % 9, t=topic, y=2024 + i % 3)
        title = title[0].upper() + title[1:]
        posts.append((_slugify(title) + ("" if i < 100 else f"-{i}"), title))
    return posts


def build_site() -> dict[str, Page]:
    pages: dict[str, Page] = {}
    nav = _nav_links()
    footer = _footer_links()

    # --- landing page
    hero = [
        el("div", classes="flex flex-col sm:flex-row gap-4 mt-8"),
        el("div", classes="container mx-auto px-4 md:px-8 text-center"),
        el("section", id="hero", classes="hero py-24 md:py-32 bg-gradient-to-b from-blue-50 to-white"),
        el("main", id="content", classes="flex-1"),
    ]
    features = [
        el("div", classes="grid grid-cols-1 md:grid-cols-3 gap-8"),
        el("section", id="features", classes="py-16 md:py-24"),
        el("main", id="content", classes="flex-1"),
    ]
    home = Page("home", WWW, "/", "Paperplane — Email marketing that lands", engagement=1.2, exit_rate=0.3)
    home.interactions = [
        *nav,
        _link(
            "Start free trial",
            "/signup",
            WWW,
            "signup",
            el(
                "a",
                id="hero-cta",
                classes="btn btn-primary btn-lg px-6 py-3 md:px-8 hover:bg-blue-500 w-full sm:w-auto",
                href="/signup",
                data_track="hero-cta",
            ),
            hero,
            weight=2.0,
        ),
        _link(
            "See pricing",
            "/pricing",
            WWW,
            "pricing",
            el("a", classes="btn btn-ghost btn-lg px-6 py-3 hover:bg-slate-100 w-full sm:w-auto", href="/pricing"),
            hero,
            weight=1.2,
        ),
        Interaction(
            "click",
            el(
                "button",
                classes="video-play group inline-flex items-center gap-2",
                type="button",
                data_video="intro",
                aria_label="Watch the 2-minute tour",
            ),
            hero,
            text="Watch the 2-minute tour",
            weight=0.6,
        ),
        # The svg icon inside the play button is often what actually receives the click.
        Interaction(
            "click",
            el("path", ns="svg", d="M8 5v14l11-7z"),
            [
                el(
                    "svg",
                    ns="svg",
                    classes="h-5 w-5 fill-current group-hover:text-blue-500",
                    viewBox="0 0 24 24",
                    aria_hidden="true",
                ),
                el(
                    "button",
                    classes="video-play group inline-flex items-center gap-2",
                    type="button",
                    data_video="intro",
                    aria_label="Watch the 2-minute tour",
                ),
                *hero,
            ],
            text="",
            weight=0.3,
        ),
    ]
    for feature, doc in (
        ("automations", "campaigns/scheduling"),
        ("segments", "audiences/segments"),
        ("analytics", "campaigns/analytics"),
    ):
        card = el(
            "div", classes="card feature-card rounded-xl border p-6 hover:shadow-lg transition", data_feature=feature
        )
        home.interactions.append(
            _link(
                "Learn more →",
                f"https://{DOCS}/docs/{doc}",
                WWW,
                f"docs:{doc}",
                el("a", classes="text-blue-600 hover:underline mt-4 inline-block", href=f"https://{DOCS}/docs/{doc}"),
                [card, *features],
                weight=0.4,
            )
        )
    home.interactions += [
        Interaction(
            "click",
            el("button", classes="carousel-next rounded-full p-2 hover:bg-slate-200", type="button", aria_label="Next"),
            [
                el("div", classes="carousel relative overflow-hidden", role="region", aria_roledescription="carousel"),
                el("section", id="customers", classes="py-12 bg-slate-50"),
                el("main", id="content", classes="flex-1"),
            ],
            weight=0.3,
        ),
        *_newsletter_form("footer"),
        *footer,
    ]
    pages["home"] = home

    # --- pricing
    plans_grid = [
        el("div", classes="flex flex-col md:flex-row gap-6 items-stretch"),
        el("section", id="plans", classes="container mx-auto px-4 md:px-8 py-16"),
        el("main", id="content", classes="flex-1"),
    ]
    pricing = Page("pricing", WWW, "/pricing", "Pricing — Paperplane", engagement=1.8, exit_rate=0.3)
    pricing.interactions = [
        *nav,
        Interaction(
            "change",
            el("input", id="billing-annual", classes="sr-only peer", type="checkbox", role="switch", name="billing"),
            [
                el("label", classes="relative inline-flex cursor-pointer items-center", **{"for": "billing-annual"}),
                el("div", classes="billing-toggle flex justify-center mb-8"),
                *plans_grid[1:],
            ],
            weight=0.8,
        ),
    ]
    for plan, label, _price in PLANS:
        card = el(
            "div",
            classes=f"plan-card plan-{plan} w-full md:w-1/3 rounded-2xl border p-8"
            + (" ring-2 ring-blue-500" if plan == "pro" else ""),
            data_plan=plan,
        )
        pricing.interactions.append(
            _link(
                f"Choose {label}",
                f"/checkout?plan={plan}",
                WWW,
                f"checkout:{plan}",
                el(
                    "a",
                    classes="btn plan-cta w-full mt-6 py-2 hover:bg-blue-500",
                    href=f"/checkout?plan={plan}",
                    data_plan=plan,
                    role="button",
                ),
                [card, *plans_grid],
                weight=1.5 if plan == "pro" else 0.7,
            )
        )
        pricing.interactions.append(
            _link(
                "Start 14-day free trial",
                "/signup",
                WWW,
                "signup",
                el("a", classes="trial-link text-sm text-blue-600 hover:underline", href="/signup", data_plan=plan),
                [card, *plans_grid],
                weight=0.6 if plan == "pro" else 0.3,
            )
        )
        pricing.interactions.append(
            Interaction(
                "click",
                el("button", classes="plan-details text-sm underline", type="button", aria_expanded="false"),
                [card, *plans_grid],
                text="See all features",
                weight=0.3,
            )
        )
    faq_section = [
        el("div", classes="faq-item border-b py-4"),
        el("div", classes="divide-y"),
        el("section", id="faq", classes="max-w-3xl mx-auto py-16"),
        el("main", id="content", classes="flex-1"),
    ]
    for index, question in enumerate(
        [
            "Can I change plans later?",
            "Do you offer discounts for nonprofits?",
            "What counts as a contact?",
            "Is there a free trial?",
            "How does billing work?",
            "Can I import my list from Mailchimp?",
        ]
    ):
        pricing.interactions.append(
            Interaction(
                "click",
                el(
                    "button",
                    id=f"faq-q{index + 1}",
                    classes="faq-question flex w-full justify-between text-left",
                    type="button",
                    aria_expanded="false",
                    aria_controls=f"faq-a{index + 1}",
                ),
                faq_section,
                text=question,
                weight=0.25,
            )
        )
    pricing.interactions += [
        _link(
            "Contact sales",
            "/contact",
            WWW,
            None,
            el("a", classes="btn btn-outline w-full md:w-auto", href="/contact", data_plan="enterprise"),
            [el("div", classes="enterprise-banner rounded-xl bg-slate-900 text-white p-8"), *plans_grid[1:]],
            weight=0.3,
        ),
        *footer,
    ]
    pages["pricing"] = pricing

    # --- checkout, one page per plan (the query tells them apart)
    for plan, label, price in PLANS:
        form = el("form", id="checkout-form", classes="space-y-4", method="post", action="/checkout")
        field_wrap = el("div", classes="field grid gap-1")
        column = [
            form,
            el("div", classes="w-full md:w-1/2 md:pr-8"),
            el("div", classes="container mx-auto flex flex-col md:flex-row py-12"),
            el("main", id="content", classes="flex-1"),
        ]
        checkout = Page(
            f"checkout:{plan}",
            WWW,
            "/checkout",
            f"Checkout — {label} plan — Paperplane",
            query=f"?plan={plan}",
            engagement=4.5,
            exit_rate=0.3,
        )
        checkout.interactions = [
            Interaction(
                "change",
                el(
                    "input",
                    id="card-name",
                    classes="input w-full",
                    name="cardholder",
                    type="text",
                    autocomplete="cc-name",
                ),
                [field_wrap, *column],
                weight=1.0,
            ),
            Interaction(
                "change",
                el(
                    "input",
                    id="card-number",
                    classes="input w-full font-mono",
                    name="cardnumber",
                    type="text",
                    inputmode="numeric",
                    autocomplete="cc-number",
                ),
                [el("div", classes="StripeElement"), field_wrap, *column],
                weight=1.0,
            ),
            Interaction(
                "change",
                el(
                    "input",
                    id="card-expiry",
                    classes="input w-1/2",
                    name="exp-date",
                    type="text",
                    autocomplete="cc-exp",
                ),
                [field_wrap, *column],
                weight=0.9,
            ),
            Interaction(
                "change",
                el("select", id="billing-country", classes="input w-full", name="country", autocomplete="country"),
                [field_wrap, *column],
                weight=0.6,
            ),
            Interaction(
                "change",
                el("input", id="coupon", classes="input uppercase", name="coupon", type="text"),
                [el("div", classes="coupon flex gap-2"), *column],
                weight=0.2,
            ),
            Interaction(
                "click",
                el("button", classes="btn btn-secondary", type="button", data_action="apply-coupon"),
                [el("div", classes="coupon flex gap-2"), *column],
                text="Apply",
                weight=0.15,
            ),
            Interaction(
                "click",
                el("button", id="pay-now", classes="btn btn-primary w-full py-3 hover:bg-blue-500", type="submit"),
                column,
                text=f"Pay ${price}.00",
                weight=0.1,
            ),
            Interaction("submit", form, column[1:], weight=0.0, goes_to="app:dashboard", tracks="Order Completed"),
            _link(
                "Back to pricing",
                "/pricing",
                WWW,
                "pricing",
                el("a", classes="text-sm text-slate-500 hover:underline", href="/pricing"),
                column[1:],
                weight=0.3,
            ),
        ]
        pages[checkout.key] = checkout

    # --- signup and login
    signup_form = el("form", id="signup-form", classes="space-y-4", method="post", action="/signup", novalidate="")
    signup_col = [
        el("div", classes="mx-auto w-full max-w-sm md:w-1/2 px-4"),
        el("main", id="content", classes="flex-1"),
    ]
    field = el("div", classes="field")
    signup = Page("signup", WWW, "/signup", "Create your account — Paperplane", engagement=3.5, exit_rate=0.45)
    signup.interactions = [
        Interaction(
            "change",
            el(
                "input",
                id="signup-email",
                classes="input w-full focus:ring-2 focus:ring-blue-500",
                type="email",
                name="email",
                autocomplete="email",
                required="",
            ),
            [field, signup_form, *signup_col],
            weight=1.0,
        ),
        Interaction(
            "change",
            el("input", id="signup-name", classes="input w-full", type="text", name="name", autocomplete="name"),
            [field, signup_form, *signup_col],
            weight=0.9,
        ),
        Interaction(
            "change",
            el(
                "input",
                id="signup-password",
                classes="input w-full",
                type="password",
                name="password",
                autocomplete="new-password",
                minlength="10",
            ),
            [field, signup_form, *signup_col],
            weight=0.9,
        ),
        Interaction(
            "change",
            el("input", id="signup-terms", classes="checkbox", type="checkbox", name="terms"),
            [el("label", classes="flex items-center gap-2 text-sm"), signup_form, *signup_col],
            weight=0.6,
        ),
        Interaction(
            "click",
            el(
                "button",
                classes="btn btn-primary w-full py-2 hover:bg-blue-500",
                type="submit",
                data_testid="signup-submit",
            ),
            [signup_form, *signup_col],
            text="Create account",
            weight=0.2,
        ),
        Interaction("submit", signup_form, signup_col, weight=0.0, goes_to="app:onboarding", tracks="Signed Up"),
        Interaction(
            "click",
            el(
                "button",
                classes="btn oauth-google w-full border hover:bg-slate-50",
                type="button",
                data_provider="google",
            ),
            signup_col,
            text="Continue with Google",
            weight=0.3,
        ),
        _link(
            "Log in",
            f"https://{APP}/login",
            WWW,
            "login",
            el("a", classes="text-blue-600 hover:underline", href=f"https://{APP}/login"),
            signup_col,
            weight=0.2,
        ),
    ]
    pages["signup"] = signup

    login_form = el("form", id="login-form", classes="space-y-4", method="post", action="/login")
    login_col = [el("div", classes="mx-auto w-full max-w-sm"), el("main", classes="min-h-full flex items-center")]
    login = Page("login", APP, "/login", "Log in — Paperplane", engagement=2.2, exit_rate=0.1, app=True)
    login.interactions = [
        Interaction(
            "change",
            el("input", id="login-email", classes="input w-full", type="email", name="email", autocomplete="username"),
            [field, login_form, *login_col],
            weight=1.0,
        ),
        Interaction(
            "change",
            el(
                "input",
                id="login-password",
                classes="input w-full",
                type="password",
                name="password",
                autocomplete="current-password",
            ),
            [field, login_form, *login_col],
            weight=1.0,
        ),
        Interaction(
            "click",
            el("button", classes="btn btn-primary w-full", type="submit"),
            [login_form, *login_col],
            text="Log in",
            weight=0.2,
        ),
        Interaction("submit", login_form, login_col, weight=0.0, goes_to="app:dashboard"),
        _link(
            "Forgot password?",
            f"https://{APP}/password/reset",
            APP,
            None,
            el("a", classes="text-sm text-slate-500", href="/password/reset"),
            [login_form, *login_col],
            weight=0.1,
        ),
    ]
    pages["login"] = login

    # --- blog
    posts = blog_posts()
    blog_main = [el("main", id="content", classes="flex-1")]
    blog = Page("blog", WWW, "/blog", "Blog — Paperplane", engagement=0.6, exit_rate=0.25)
    article_grid = [
        el("div", classes="grid grid-cols-1 md:grid-cols-2 lg:grid-cols-3 gap-8"),
        el("section", classes="container mx-auto px-4 md:px-8 py-12"),
        *blog_main,
    ]
    for tag in ("deliverability", "automation", "design", "case-studies"):
        blog.interactions.append(
            Interaction(
                "click",
                el(
                    "button",
                    classes="tag-filter rounded-full px-3 py-1 text-sm hover:bg-blue-50",
                    type="button",
                    data_tag=tag,
                ),
                [el("div", classes="flex flex-wrap gap-2", role="toolbar"), *article_grid[1:]],
                text=tag.replace("-", " ").title(),
                weight=0.2,
            )
        )
    for slug, title in posts[:24]:
        card = el("article", classes="post-card group rounded-xl overflow-hidden border hover:shadow-md")
        blog.interactions.append(
            _link(
                title,
                f"/blog/{slug}",
                WWW,
                f"post:{slug}",
                el("a", classes="post-link group-hover:text-blue-600", href=f"/blog/{slug}"),
                [el("h2", classes="text-xl font-semibold mt-4"), card, *article_grid],
                weight=0.25,
            )
        )
    blog.interactions.append(
        _link(
            "Older posts →",
            "/blog?page=2",
            WWW,
            "blog:2",
            el("a", classes="pagination-next btn btn-outline", href="/blog?page=2", rel="next"),
            [el("nav", classes="pagination flex justify-center mt-12", aria_label="Pagination"), *blog_main],
            weight=0.4,
        )
    )
    blog.interactions += nav
    pages["blog"] = blog
    blog2 = Page("blog:2", WWW, "/blog", "Blog (page 2) — Paperplane", query="?page=2", engagement=0.3)
    blog2.interactions = [
        _link(
            title,
            f"/blog/{slug}",
            WWW,
            f"post:{slug}",
            el("a", classes="post-link group-hover:text-blue-600", href=f"/blog/{slug}"),
            [
                el("h2", classes="text-xl font-semibold mt-4"),
                el("article", classes="post-card group rounded-xl overflow-hidden border hover:shadow-md"),
                *article_grid,
            ],
            weight=0.25,
        )
        for slug, title in posts[24:60]
    ] + nav
    pages["blog:2"] = blog2

    prose = [
        el("div", classes="prose prose-slate lg:prose-lg max-w-none"),
        el("article", classes="post mx-auto max-w-3xl px-4 py-12"),
        *blog_main,
    ]
    for index, (slug, title) in enumerate(posts):
        post = Page(f"post:{slug}", WWW, f"/blog/{slug}", f"{title} | Paperplane Blog", engagement=0.9, exit_rate=0.55)
        share = [el("div", classes="share-buttons flex gap-3 mt-8"), *prose[1:]]
        post.interactions = [
            Interaction(
                "click",
                el(
                    "button",
                    classes="share-twitter p-2 hover:text-sky-500",
                    type="button",
                    aria_label="Share on Twitter",
                    data_network="twitter",
                ),
                share,
                weight=0.15,
            ),
            Interaction(
                "click",
                el(
                    "button",
                    classes="share-linkedin p-2 hover:text-blue-700",
                    type="button",
                    aria_label="Share on LinkedIn",
                    data_network="linkedin",
                ),
                share,
                weight=0.1,
            ),
            Interaction(
                "click",
                el("button", classes="copy-link p-2", type="button", data_network="copy"),
                share,
                text="Copy link",
                weight=0.1,
            ),
        ]
        for anchor in ("why-it-matters", "step-by-step", "takeaways"):
            post.interactions.append(
                Interaction(
                    "click",
                    el("a", classes="toc-link text-sm hover:text-blue-600", href=f"#{anchor}"),
                    [
                        el("li"),
                        el("ol", classes="toc space-y-1"),
                        el("aside", classes="hidden lg:block w-64"),
                        *prose[1:],
                    ],
                    text=anchor.replace("-", " ").capitalize(),
                    href=f"https://{WWW}/blog/{slug}#{anchor}",
                    weight=0.2,
                )
            )
        for offset in (1, 5, 17):
            other_slug, other_title = posts[(index + offset) % len(posts)]
            post.interactions.append(
                _link(
                    other_title,
                    f"/blog/{other_slug}",
                    WWW,
                    f"post:{other_slug}",
                    el("a", classes="related-post block hover:underline", href=f"/blog/{other_slug}"),
                    [
                        el("li"),
                        el("ul", classes="related-posts grid md:grid-cols-3 gap-4"),
                        el("section", classes="mt-16 border-t pt-8"),
                        *prose[1:],
                    ],
                    weight=0.25,
                )
            )
        post.interactions += [
            _link(
                "Try Paperplane free",
                "/signup",
                WWW,
                "signup",
                el(
                    "a",
                    classes="btn btn-primary px-4 py-2 md:px-6 hover:bg-blue-500",
                    href="/signup",
                    data_track="blog-cta",
                ),
                [el("div", classes="cta-banner rounded-xl bg-blue-600 text-white p-6 md:p-8 my-12"), *prose],
                weight=0.35,
            ),
            *_newsletter_form("post"),
            _link(
                "Back to blog",
                "/blog",
                WWW,
                "blog",
                el("a", classes="text-sm text-slate-500", href="/blog"),
                prose[1:],
                weight=0.3,
            ),
            *nav,
        ]
        pages[post.key] = post

    # --- docs
    doc_pages = [(section, page) for section, names in DOCS_SECTIONS.items() for page in names]
    docs_main = [el("div", classes="flex min-h-screen"), ROOT]
    for section, name in doc_pages:
        key = f"docs:{section}/{name}"
        title = name.replace("-", " ").capitalize()
        doc = Page(key, DOCS, f"/docs/{section}/{name}", f"{title} — Paperplane Docs", engagement=1.3, exit_rate=0.4)
        sidebar = [
            el("li"),
            el("ul", classes="space-y-1"),
            el(
                "nav",
                id="docs-sidebar",
                classes="sidebar w-64 shrink-0 border-r hidden md:block",
                aria_label="Documentation",
            ),
            *docs_main,
        ]
        article = [
            el("article", classes="prose max-w-3xl px-4 md:px-8 py-8"),
            el("main", id="docs-content", classes="flex-1 min-w-0"),
            *docs_main,
        ]
        doc.interactions = [
            Interaction(
                "change",
                el(
                    "input",
                    id="docs-search",
                    classes="input w-full md:w-64",
                    type="search",
                    name="q",
                    placeholder="Search docs",
                    aria_label="Search docs",
                ),
                [
                    el("form", role="search", classes="docs-search"),
                    el("header", classes="docs-header border-b"),
                    *docs_main[1:],
                ],
                weight=0.4,
            ),
            Interaction(
                "click",
                el(
                    "button",
                    classes="copy-code absolute right-2 top-2 opacity-0 group-hover:opacity-100",
                    type="button",
                    data_language="bash" if section != "api" else "json",
                    aria_label="Copy code",
                ),
                [el("div", classes="code-block group relative"), *article],
                text="Copy",
                weight=0.6,
            ),
            Interaction(
                "click",
                el("button", classes="feedback-yes btn btn-sm", type="button", data_helpful="yes"),
                [el("div", classes="doc-feedback flex gap-2 mt-12"), *article],
                text="Yes",
                weight=0.08,
            ),
            Interaction(
                "click",
                el("button", classes="feedback-no btn btn-sm", type="button", data_helpful="no"),
                [el("div", classes="doc-feedback flex gap-2 mt-12"), *article],
                text="No",
                weight=0.04,
            ),
            _link(
                "Edit this page on GitHub",
                f"https://github.com/paperplane/docs/edit/main/{section}/{name}.md",
                DOCS,
                None,
                el(
                    "a",
                    classes="edit-link text-sm text-slate-500",
                    href=f"https://github.com/paperplane/docs/edit/main/{section}/{name}.md",
                ),
                article,
                weight=0.05,
            ),
        ]
        for other_section, other_name in doc_pages:
            if other_section == section or other_name in ("introduction", "quickstart", "authentication"):
                doc.interactions.append(
                    _link(
                        other_name.replace("-", " ").capitalize(),
                        f"/docs/{other_section}/{other_name}",
                        DOCS,
                        f"docs:{other_section}/{other_name}",
                        el(
                            "a",
                            classes="sidebar-link block px-3 py-1 rounded hover:bg-slate-100"
                            + (" active font-semibold" if other_name == name else ""),
                            href=f"/docs/{other_section}/{other_name}",
                        ),
                        sidebar,
                        weight=0.3,
                    )
                )
        doc.interactions.append(
            _link(
                "Start free trial",
                f"https://{WWW}/signup",
                DOCS,
                "signup",
                el("a", classes="btn btn-primary btn-sm", href=f"https://{WWW}/signup"),
                [el("header", classes="docs-header border-b"), *docs_main[1:]],
                weight=0.15,
            )
        )
        pages[key] = doc
    pages["docs:getting-started/introduction"].path = "/docs/"

    # --- the app (identified users)
    app_shell = [el("main", classes="flex-1 overflow-y-auto p-4 md:p-8"), el("div", classes="flex h-full"), APP_ROOT]
    app_nav = [
        el("li"),
        el("ul", role="list", classes="space-y-1"),
        el("nav", id="app-sidebar", classes="w-56 bg-slate-900 text-slate-200", aria_label="Sidebar"),
        el("div", classes="flex h-full"),
        APP_ROOT,
    ]
    sidebar_links = [
        _link(
            "Dashboard",
            "/dashboard",
            APP,
            "app:dashboard",
            el("a", classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800", href="/dashboard"),
            app_nav,
            weight=0.4,
        ),
        _link(
            "Campaigns",
            "/campaigns",
            APP,
            "app:campaigns",
            el("a", classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800", href="/campaigns"),
            app_nav,
            weight=0.8,
        ),
        _link(
            "Billing",
            "/settings/billing",
            APP,
            "app:billing",
            el(
                "a",
                classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800",
                href="/settings/billing",
            ),
            app_nav,
            weight=0.15,
        ),
        _link(
            "Team",
            "/settings/team",
            APP,
            "app:team",
            el("a", classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800", href="/settings/team"),
            app_nav,
            weight=0.15,
        ),
    ]
    new_campaign = _link(
        "New campaign",
        "/campaigns/new",
        APP,
        "app:campaign-new",
        el(
            "a",
            id="new-campaign",
            classes="btn btn-primary inline-flex gap-1",
            href="/campaigns/new",
            data_shortcut="c",
        ),
        [el("div", classes="page-header flex justify-between items-center mb-6"), *app_shell],
        weight=0.5,
    )
    dashboard = Page(
        "app:dashboard", APP, "/dashboard", "Dashboard — Paperplane", engagement=1.5, exit_rate=0.2, app=True
    )
    dashboard.interactions = [
        new_campaign,
        Interaction(
            "click",
            el("button", classes="date-range-picker btn btn-outline btn-sm", type="button", aria_haspopup="listbox"),
            [el("div", classes="page-header flex justify-between items-center mb-6"), *app_shell],
            text="Last 30 days",
            weight=0.5,
        ),
        Interaction(
            "click",
            el(
                "button",
                role="tab",
                classes="tab px-3 py-2",
                type="button",
                aria_selected="false",
                data_metric="clicks",
            ),
            [
                el("div", role="tablist", classes="tabs flex border-b"),
                el("div", classes="chart-card card p-4"),
                *app_shell,
            ],
            text="Clicks",
            weight=0.4,
        ),
        Interaction(
            "click",
            el(
                "button", role="tab", classes="tab px-3 py-2", type="button", aria_selected="false", data_metric="opens"
            ),
            [
                el("div", role="tablist", classes="tabs flex border-b"),
                el("div", classes="chart-card card p-4"),
                *app_shell,
            ],
            text="Opens",
            weight=0.4,
        ),
        *sidebar_links,
    ]
    pages["app:dashboard"] = dashboard
    onboarding = Page(
        "app:onboarding", APP, "/onboarding", "Welcome — Paperplane", engagement=1.5, exit_rate=0.3, app=True
    )
    onboarding.interactions = [
        Interaction(
            "change",
            el("select", id="company-size", classes="input", name="company_size"),
            [el("form", id="onboarding-form", classes="space-y-6"), *app_shell],
            weight=0.8,
        ),
        Interaction(
            "change",
            el("input", classes="checkbox", type="checkbox", name="goals", data_goal="newsletters"),
            [
                el("label", classes="goal-option flex gap-2"),
                el("form", id="onboarding-form", classes="space-y-6"),
                *app_shell,
            ],
            weight=0.7,
        ),
        _link(
            "Skip for now",
            "/dashboard",
            APP,
            "app:dashboard",
            el("a", classes="text-sm text-slate-500 hover:underline", href="/dashboard"),
            app_shell,
            weight=0.5,
        ),
        Interaction(
            "submit",
            el("form", id="onboarding-form", classes="space-y-6"),
            app_shell,
            weight=0.6,
            goes_to="app:dashboard",
        ),
    ]
    pages["app:onboarding"] = onboarding
    campaigns = Page(
        "app:campaigns", APP, "/campaigns", "Campaigns — Paperplane", engagement=0.8, exit_rate=0.15, app=True
    )
    table = [
        el("tbody", classes="divide-y"),
        el("table", classes="campaigns-table w-full text-sm"),
        el("div", classes="card overflow-x-auto"),
        *app_shell,
    ]
    campaigns.interactions = [new_campaign, *sidebar_links]
    for campaign_id in range(1001, 1031):
        campaigns.interactions.append(
            _link(
                f"Campaign #{campaign_id}",
                f"/campaigns/{campaign_id}",
                APP,
                f"app:campaign:{campaign_id}",
                el("a", classes="campaign-row font-medium hover:text-blue-600", href=f"/campaigns/{campaign_id}"),
                [el("td", classes="px-4 py-2"), el("tr", data_campaign_id=str(campaign_id)), *table],
                weight=0.1,
            )
        )
    pages["app:campaigns"] = campaigns
    for campaign_id in range(1001, 1031):
        detail = Page(
            f"app:campaign:{campaign_id}",
            APP,
            f"/campaigns/{campaign_id}",
            f"Campaign #{campaign_id} — Paperplane",
            engagement=1.6,
            exit_rate=0.2,
            app=True,
        )
        toolbar = [el("div", classes="toolbar flex gap-2"), *app_shell]
        detail.interactions = [
            Interaction(
                "click",
                el("button", classes="btn btn-outline btn-sm", type="button", data_action="send-test"),
                toolbar,
                text="Send test",
                weight=0.5,
            ),
            Interaction(
                "click",
                el("button", id="send-campaign", classes="btn btn-primary btn-sm", type="button", data_action="send"),
                toolbar,
                text="Send now",
                weight=0.15,
                tracks="Campaign Sent",
            ),
            Interaction(
                "change",
                el("select", id="audience-select", classes="input", name="audience"),
                [el("div", classes="field"), el("form", id="campaign-settings"), *app_shell],
                weight=0.4,
            ),
            Interaction(
                "click",
                el("button", role="tab", classes="tab px-3 py-2", type="button", data_tab="report"),
                [el("div", role="tablist", classes="tabs flex border-b"), *app_shell],
                text="Report",
                weight=0.5,
            ),
            *sidebar_links,
        ]
        pages[detail.key] = detail
    new = Page(
        "app:campaign-new", APP, "/campaigns/new", "New campaign — Paperplane", engagement=3.0, exit_rate=0.2, app=True
    )
    new_form = el("form", id="campaign-form", classes="space-y-6 max-w-2xl", method="post", action="/campaigns")
    new.interactions = [
        Interaction(
            "change",
            el("input", id="campaign-name", classes="input w-full", name="name", type="text"),
            [el("div", classes="field"), new_form, *app_shell],
            weight=1.0,
        ),
        Interaction(
            "change",
            el("input", id="campaign-subject", classes="input w-full", name="subject", type="text"),
            [el("div", classes="field"), new_form, *app_shell],
            weight=1.0,
        ),
        Interaction(
            "click",
            el(
                "div",
                classes="template-option rounded border p-4 hover:border-blue-500",
                role="radio",
                aria_checked="false",
                data_template="newsletter",
            ),
            [el("div", classes="grid grid-cols-2 md:grid-cols-4 gap-4", role="radiogroup"), new_form, *app_shell],
            text="Newsletter",
            weight=0.6,
        ),
        Interaction(
            "click",
            el(
                "div",
                classes="template-option rounded border p-4 hover:border-blue-500",
                role="radio",
                aria_checked="false",
                data_template="announcement",
            ),
            [el("div", classes="grid grid-cols-2 md:grid-cols-4 gap-4", role="radiogroup"), new_form, *app_shell],
            text="Announcement",
            weight=0.4,
        ),
        Interaction(
            "click",
            el("button", classes="btn btn-primary", type="submit"),
            [new_form, *app_shell],
            text="Create campaign",
            weight=0.2,
        ),
        Interaction("submit", new_form, app_shell, weight=0.0, goes_to="app:campaigns", tracks="Campaign Created"),
        *sidebar_links,
    ]
    pages["app:campaign-new"] = new
    for key, path, title, extra in (
        (
            "app:billing",
            "/settings/billing",
            "Billing — Paperplane",
            [
                _link(
                    "Upgrade plan",
                    f"https://{WWW}/pricing",
                    APP,
                    "pricing",
                    el("a", classes="btn btn-primary", href=f"https://{WWW}/pricing"),
                    app_shell,
                    weight=0.3,
                ),
                Interaction(
                    "click",
                    el("button", classes="download-invoice text-blue-600", type="button", data_invoice="latest"),
                    app_shell,
                    text="Download PDF",
                    weight=0.4,
                ),
            ],
        ),
        (
            "app:team",
            "/settings/team",
            "Team — Paperplane",
            [
                Interaction(
                    "change",
                    el("input", id="invite-email", classes="input", type="email", name="email"),
                    [el("form", id="invite-form"), *app_shell],
                    weight=0.6,
                ),
                Interaction("submit", el("form", id="invite-form"), app_shell, weight=0.4, tracks="Teammate Invited"),
            ],
        ),
    ):
        settings_page = Page(key, APP, path, title, engagement=1.0, exit_rate=0.3, app=True)
        settings_page.interactions = [*extra, *sidebar_links]
        pages[key] = settings_page

    return pages


def hierarchy_for(page: Page, interaction: Interaction) -> list[dict]:
    if page.app:
        tail = [APP_BODY, HTML]
    elif page.domain == DOCS:
        tail = [BODY, HTML]
    else:
        tail = [ROOT, BODY, HTML]
    return [interaction.target, *interaction.ancestors, *tail]
