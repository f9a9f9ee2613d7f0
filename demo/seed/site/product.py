"""The product itself (app.paperplane.example), used by signed-up users."""

from .elements import (
    APP,
    APP_ROOT,
    WWW,
    Interaction,
    Page,
    el,
    link,
)


def product_pages() -> dict[str, Page]:
    pages: dict[str, Page] = {}

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
        link(
            "Dashboard",
            "/dashboard",
            APP,
            "app:dashboard",
            el("a", classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800", href="/dashboard"),
            app_nav,
            weight=0.4,
        ),
        link(
            "Campaigns",
            "/campaigns",
            APP,
            "app:campaigns",
            el("a", classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800", href="/campaigns"),
            app_nav,
            weight=0.8,
        ),
        link(
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
        link(
            "Team",
            "/settings/team",
            APP,
            "app:team",
            el("a", classes="sidebar-item flex items-center gap-2 px-3 py-2 hover:bg-slate-800", href="/settings/team"),
            app_nav,
            weight=0.15,
        ),
    ]
    new_campaign = link(
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
        link(
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
            link(
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
                link(
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
