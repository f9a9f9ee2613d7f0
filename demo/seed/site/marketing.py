"""Landing page, pricing, checkout, sign-up and log-in."""

from .elements import (
    APP,
    DOCS,
    WWW,
    Interaction,
    Page,
    el,
    footer_links,
    link,
    nav_links,
    newsletter_form,
)

PLANS = [("starter", "Starter", 19), ("pro", "Pro", 49), ("business", "Business", 199)]


def marketing_pages() -> dict[str, Page]:
    pages: dict[str, Page] = {}
    nav = nav_links()
    footer = footer_links()

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
        link(
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
        link(
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
            link(
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
        *newsletter_form("footer"),
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
            link(
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
            link(
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
        link(
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
            link(
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
        link(
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
        link(
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
    return pages
