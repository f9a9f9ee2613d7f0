"""The whole journey of a new user in Chromium, from a fresh install to SQL over a defined event.

Fresh install (as `manage.py up --no-demo` leaves it) -> log in -> create an environment in the app
(a bad name is refused next to its field) -> use the demo shop, signing up -> find the interactions in
Raw data, shown under the person who signed up -> "Define event from this" (a bad selector is refused
next to its condition) -> watch the sync -> query the table, save the query, reopen it by its link and
edit it -> rename the definition -> edit it. Real server, real PostgreSQL, real RQ workers; a
screenshot per step under test-artifacts/journey/ (the README's come from there).
"""

import re
import time

import pytest

pytestmark = pytest.mark.e2e

SCHEMA = "main_production"
FIRST_TABLE = "clicked_start_your_free_trial"
RENAMED_TABLE = "signup_cta_clicked"
# The definition editor previews this long after the last edit (static/js/definitions.js).
PREVIEW_DELAY_MS = 400


def set_sql(page, text: str) -> None:
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)


def run_sql(page, text: str) -> list[list[str]]:
    """Type a query, run it with Ctrl+Enter and return the result grid's rows (cell texts)."""
    set_sql(page, text)
    with page.expect_response(lambda response: "/sql/run" in response.url):
        page.keyboard.press("Control+Enter")
    page.locator(".sql-summary, .sql-error").first.wait_for()
    return run_rows(page)


def run_rows(page) -> list[list[str]]:
    """The result grid's rows as shown (cell texts)."""
    return page.locator("table.sql-results tbody tr").evaluate_all(
        'rows => rows.map(row => Array.from(row.querySelectorAll("td:not(.rownum)"), cell => cell.innerText.trim()))'
    )


def wait_for_raw_rows(page, url: str, texts: list[str], timeout: float = 15.0) -> None:
    """Reload the raw data list until every text shows up (the snippet sends its batches on its own time)."""
    deadline = time.monotonic() + timeout
    while True:
        page.goto(url)
        body = page.locator("#event-rows").inner_text()
        missing = [text for text in texts if text not in body]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"raw data never showed {missing}; it shows:\n{body}")
        page.wait_for_timeout(250)


def preview_due(page) -> None:
    """Move the page's clock past the editor's preview delay: its own timer fires now, not 400 ms from now."""
    page.clock.run_for(PREVIEW_DELAY_MS)


def sync_badge(table: str, rows: int) -> re.Pattern:
    """A run's per-table badge in the sync history, e.g. "signup_cta_clicked: 3 rebuilt"."""
    return re.compile(rf"^{table}: {rows} \w+$")


def watch_sync(
    page, server: str, workers, badge: re.Pattern, *, on_queued=None, on_running=None, last: bool = False
) -> None:
    """Open the sync status page while the run is queued, start a worker, and watch the run succeed there.

    The page follows the run by itself (it polls and reloads); nothing here reloads it. Unless this is the
    journey's last sync, the next worker loads meanwhile.
    """
    page.goto(f"{server}/e/{SCHEMA}/sync/")
    page.locator("#sync-current", has_text="Queued").wait_for()
    if on_queued:
        on_queued()
    worker = workers.start()
    if on_running:
        page.locator("#sync-current .progress").wait_for(timeout=30_000)
        on_running()
    page.locator("tr.sync-status-succeeded .sync-badge", has_text=badge).wait_for(timeout=30_000)
    workers.wait(worker)
    if not last:
        workers.warm()
    assert "No sync is running." in page.locator("#sync-current").inner_text()


def test_the_whole_journey(browser, journey_server, fresh_install, workers, reader_lock, shots):
    server = journey_server
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    context.clock.install()  # time flows as usual; preview_due() moves it on
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # 1. Log in through the login form with the password `up` printed.
        page.goto(f"{server}/")
        page.wait_for_url("**/login/**")
        page.fill("#id_username", fresh_install["username"])
        page.fill("#id_password", fresh_install["password"])
        shots(page, "login")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{server}/")
        shots(page, "dashboard")

        # 1b. A new environment, in the app: a bad name is refused next to its field, then it is created.
        page.get_by_role("link", name="New environment").click()
        page.fill("#env-project", "main")
        page.fill("#env-name", "Staging!")
        assert page.locator("#schema-preview").inner_text() == "main_Staging!"
        page.get_by_role("button", name="Create environment").click()
        error = page.locator("#env-name-error")
        assert "must start with a lowercase letter" in error.inner_text()
        assert page.locator("#env-name").get_attribute("aria-invalid") == "true"
        shots(page, "environment-error-next-to-field")
        page.fill("#env-name", "staging")
        page.fill("#env-display-name", "Acme staging")
        page.get_by_role("button", name="Create environment").click()
        page.locator("h1", has_text="Created Acme staging").wait_for()
        assert page.locator("#server-key").inner_text().startswith("hs_")
        shots(page, "environment-created")
        page.get_by_role("link", name="Done").click()
        page.wait_for_url(f"{server}/e/main_staging/")
        assert "Acme staging" in page.locator("select[name=env]").inner_text()

        # 2. The demo shop: two signup buttons, the signup form, a blog post.
        page.goto(f"{server}/demo/")
        page.wait_for_function("window.heap && window.heap._loaded === true")
        shots(page, "demo-home")
        page.click("#header-signup")
        page.wait_for_url("**/demo/signup/")
        page.goto(f"{server}/demo/")
        page.click("#hero-cta")
        page.wait_for_url("**/demo/signup/?plan=pro")
        page.fill("#signup-name", "Ada Lovelace")
        page.fill("#signup-email", "ada@example.com")
        page.fill("#signup-password", "analytical-engine")
        page.select_option("#signup-team-size", "11-50")
        page.check("#signup-terms")
        shots(page, "demo-signup-form")
        page.click("#signup-submit")
        page.wait_for_url("**/demo/signup/welcome/**")
        shots(page, "demo-welcome")
        page.click("a[data-nav=blog]")
        page.wait_for_url("**/demo/blog/")
        post = page.locator("a.post-link").first
        post_title = post.inner_text().strip()
        post.click()
        page.wait_for_url("**/demo/blog/*/")
        page.mouse.wheel(0, 600)
        shots(page, "demo-blog-post")

        # 3. Raw data shows those interactions.
        wait_for_raw_rows(
            page,
            f"{server}/e/{SCHEMA}/raw/",
            ["Start free trial", "Start your free trial", "Create my account", post_title],
        )
        shots(page, "raw-data")
        hero_row = page.locator("#event-rows tr.type-click", has_text="Start your free trial")
        assert hero_row.count() == 1
        # Clicked before signing up, shown under the person she became (the anonymous id is merged).
        assert hero_row.locator("td.user").inner_text().strip() == "ada@example.com"
        page.goto(f"{server}/e/{SCHEMA}/users/")
        person = page.locator("table tr", has_text="ada@example.com")
        assert person.count() == 1 and person.locator("td.merged-ids a").count() == 1
        shots(page, "users-identity")
        page.goto(f"{server}/e/{SCHEMA}/raw/")
        hero_row = page.locator("#event-rows tr.type-click", has_text="Start your free trial")
        hero_row.locator("td.label a").first.click()
        page.get_by_role("link", name="Define event from this").wait_for()
        assert 'id="hero-cta"' in page.locator("ol.hierarchy li.target").inner_text()
        shots(page, "raw-event")

        # 4. "Define event from this" prefills the editor; save it.
        page.get_by_role("link", name="Define event from this").click()
        name = page.locator("input[name=name]")
        assert name.input_value() == "Clicked Start your free trial"
        page.locator("#builder input.value").nth(2).wait_for()  # the builder is drawn by script
        values = page.locator("#builder input.value").evaluate_all("inputs => inputs.map(i => i.value)")
        assert values == ["#hero-cta", "Start your free trial", "/demo/"]
        preview_due(page)
        page.locator(".preview-total", has_text="1 matching event ").wait_for()
        # A selector the compiler refuses: the message sits under that condition, in words.
        selector_input = page.locator("#builder input.value").first
        selector_input.fill("a:hover")
        note = page.locator("#builder [data-path='groups[0].conditions[0]'] + .field-error")
        preview_due(page)
        note.wait_for()
        assert "Pseudo-classes are not supported" in note.inner_text()
        assert selector_input.get_attribute("aria-invalid") == "true"
        assert "Group 1, condition 1 (CSS selector)" in page.locator("#preview").inner_text()
        shots(page, "define-event-error-next-to-condition")
        selector_input.fill("#hero-cta")
        preview_due(page)
        page.locator(".preview-total", has_text="1 matching event ").wait_for()
        assert page.locator("#builder .field-error").count() == 0
        shots(page, "define-event")
        page.get_by_role("button", name="Save").click()
        page.locator(".flash", has_text=f"its table {FIRST_TABLE} will be built").wait_for()
        edit_url = page.url

        # 5. The sync status page: queued, then a worker runs it to the end.
        watch_sync(page, server, workers, sync_badge(FIRST_TABLE, 1), on_queued=lambda: shots(page, "sync-queued"))
        shots(page, "sync-done")

        # 6. SQL: exactly the click made on the hero button.
        page.goto(f"{server}/e/{SCHEMA}/sql/")
        rows = run_sql(page, f"SELECT target_text, path, href FROM {FIRST_TABLE} ORDER BY time")
        assert rows == [["Start your free trial", "/demo/", "/demo/signup/?plan=pro"]]
        shots(page, "sql-first-table")

        # 6b. Save the query; its link opens it and runs it; edit it in place (new name and SQL).
        page.locator("details.sql-save summary").click()
        page.fill("#sql-save-form input[name=name]", "Hero clicks")
        page.locator("#sql-save-form").get_by_role("button", name="Save").click()
        page.wait_for_url("**/sql/?saved=*")
        link = page.locator("#saved-link").input_value()
        page.goto(link)
        page.locator(".sql-rowcount", has_text="1 row").wait_for()  # ran on opening
        assert "Start your free trial" in page.locator("table.sql-results").inner_text()
        set_sql(page, f"SELECT path, count(*) AS clicks FROM {FIRST_TABLE} GROUP BY path")
        page.locator("details.sql-update summary").click()
        page.fill("#sql-update-form input[name=name]", "Hero clicks per path")
        page.get_by_role("button", name="Save changes").click()
        page.locator(".flash", has_text="Saved changes to 'Hero clicks per path'").wait_for()
        page.goto(link)
        page.locator(".sql-rowcount", has_text="1 row").wait_for()
        assert page.locator("#saved-query strong").first.inner_text() == "Hero clicks per path"
        assert run_rows(page) == [["/demo/", "1"]]
        shots(page, "sql-saved-query")

        # 7. Rename: the table is renamed (no rebuild) while an analyst still reads the old one.
        page.goto(edit_url)
        page.fill("input[name=name]", "Signup CTA clicked")
        page.get_by_role("button", name="Save").click()
        page.locator(".flash", has_text="Saved 'Signup CTA clicked'").wait_for()
        assert f"{SCHEMA}.{RENAMED_TABLE}" in page.locator("main").inner_text()
        reader_lock.hold(SCHEMA, FIRST_TABLE)

        def progress_shown():
            page.locator(".sync-progress-text", has_text="waiting for readers").wait_for(timeout=20_000)
            shots(page, "sync-progress")
            reader_lock.release()

        renamed = re.compile(rf"^{RENAMED_TABLE}: renamed from {FIRST_TABLE}, 0 new rows$")
        watch_sync(page, server, workers, renamed, on_running=progress_shown)
        assert page.locator(".sync-tables tr", has_text=RENAMED_TABLE).locator("td").nth(2).inner_text() == "1"
        shots(page, "sync-renamed")

        page.goto(f"{server}/e/{SCHEMA}/sql/")
        rows = run_sql(page, f"SELECT target_text, path FROM {RENAMED_TABLE} ORDER BY time")
        assert rows == [["Start your free trial", "/demo/"]]
        run_sql(page, f"SELECT count(*) FROM {FIRST_TABLE}")
        assert f'relation "{FIRST_TABLE}" does not exist' in page.locator(".sql-error").inner_text()
        shots(page, "sql-old-name-gone")

        # 8. Edit: any element with data-cta anywhere -> the other signup button and the submit too.
        page.goto(edit_url)
        builder = page.locator("#builder")
        preview_due(page)
        page.locator(".preview-total", has_text="1 matching event ").wait_for()
        conditions = builder.locator(".condition").filter(has=page.locator("input.value"))
        for index, value in ((2, "/demo/"), (1, "Start your free trial")):  # the path, then the text
            assert conditions.nth(index).locator("input.value").input_value() == value
            conditions.nth(index).get_by_title("Remove condition").click()
        assert conditions.count() == 1
        conditions.locator("input.value").fill("[data-cta]")
        preview_due(page)
        page.locator(".preview-total", has_text="3 matching events").wait_for()
        assert "+2 gained" in page.locator(".preview-total").inner_text()
        shots(page, "edit-definition")
        page.get_by_role("button", name="Save").click()
        page.locator(".flash", has_text="Saved 'Signup CTA clicked'").wait_for()
        watch_sync(page, server, workers, sync_badge(RENAMED_TABLE, 3), last=True)
        shots(page, "sync-edited")

        page.goto(f"{server}/e/{SCHEMA}/sql/")
        rows = run_sql(page, f"SELECT target_text, path FROM {RENAMED_TABLE} ORDER BY time")
        assert rows == [
            ["Start free trial", "/demo/"],
            ["Start your free trial", "/demo/"],
            ["Create my account", "/demo/signup/"],
        ]
        shots(page, "sql-edited-table")
        assert errors == [], f"a page threw: {errors}"
    except BaseException:
        shots(page, "failed")
        raise
    finally:
        context.close()
