"""Building blocks of the demo site: hierarchy elements, the shared page chrome, pages and interactions."""

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


def link(text: str, href_path: str, domain: str, goes_to: str | None, target: dict, ancestors: list[dict], **kw):
    href = href_path if href_path.startswith("http") else f"https://{domain}{href_path}"
    return Interaction("click", target, ancestors, text=text, href=href, goes_to=goes_to, **kw)


def nav_links() -> list[Interaction]:
    li = el("li")
    nav_classes = "nav-link text-sm font-medium text-slate-600 hover:text-blue-600"
    logo_ancestors = HEADER[1:]
    links = [
        link("Pricing", "/pricing", WWW, "pricing", el("a", classes=nav_classes, href="/pricing"), [li, *HEADER]),
        link("Blog", "/blog", WWW, "blog", el("a", classes=nav_classes, href="/blog"), [li, *HEADER], weight=0.7),
        link(
            "Docs",
            f"https://{DOCS}/docs/",
            WWW,
            "docs:getting-started/introduction",
            el("a", classes=nav_classes, href=f"https://{DOCS}/docs/"),
            [li, *HEADER],
            weight=0.5,
        ),
        link(
            "Log in",
            f"https://{APP}/login",
            WWW,
            "login",
            el("a", classes=nav_classes + " md:ml-auto", href=f"https://{APP}/login"),
            [li, *HEADER],
            weight=0.6,
        ),
        link(
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
        link(
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


def footer_links() -> list[Interaction]:
    li = el("li")
    cls = "text-slate-400 hover:text-white"
    return [
        link("Careers", "/careers", WWW, None, el("a", classes=cls, href="/careers"), [li, *FOOTER], weight=0.05),
        link("Privacy", "/privacy", WWW, None, el("a", classes=cls, href="/privacy"), [li, *FOOTER], weight=0.05),
        link(
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


def newsletter_form(prefix: str) -> list[Interaction]:
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


def hierarchy_for(page: Page, interaction: Interaction) -> list[dict]:
    if page.app:
        tail = [APP_BODY, HTML]
    elif page.domain == DOCS:
        tail = [BODY, HTML]
    else:
        tail = [ROOT, BODY, HTML]
    return [interaction.target, *interaction.ancestors, *tail]
