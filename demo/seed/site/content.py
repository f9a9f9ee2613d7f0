"""The blog (many posts) and the documentation site."""

from .elements import (
    DOCS,
    ROOT,
    WWW,
    Interaction,
    Page,
    el,
    link,
    nav_links,
    newsletter_form,
)

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


def content_pages() -> dict[str, Page]:
    pages: dict[str, Page] = {}
    nav = nav_links()

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
            link(
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
        link(
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
        link(
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
                link(
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
            link(
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
            *newsletter_form("post"),
            link(
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
            link(
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
                    link(
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
            link(
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
    return pages
