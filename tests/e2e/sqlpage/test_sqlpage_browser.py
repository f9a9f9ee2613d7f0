"""The SQL page in Chromium: type, run with the keyboard, see results, errors, chart, cancel, CSV."""

import pytest

pytestmark = pytest.mark.e2e


def set_editor(page, text):
    page.locator(".CodeMirror").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type(text)


def test_sql_page_in_the_browser(sql_live_server, e2e_world, browser_page, tmp_path):
    page = browser_page.new_page()
    page.goto(f"{sql_live_server}/e/{e2e_world.alpha.warehouse_schema}/sql/")
    assert page.locator("h2", has_text="Schema").is_visible()

    # Type a query and run it with the keyboard.
    set_editor(page, "SELECT path, count(*) AS views FROM pageviews GROUP BY 1 ORDER BY 1")
    page.keyboard.press("Control+Enter")
    page.locator(".sql-rowcount", has_text="7 rows").wait_for()
    assert page.locator("table.sql-results tbody tr").count() == 7
    assert page.locator("table.sql-results td", has_text="/p/0").count() == 1
    assert page.locator(".sql-elapsed").inner_text().endswith("ms")
    # History picks the run up.
    page.locator(".sql-history a", has_text="SELECT path, count(*)").wait_for()

    # Quick chart of the result: a bar chart (category x, numeric y).
    page.locator(".sql-chart-toggle").click()
    page.locator(".sql-chart svg rect.series").first.wait_for()
    assert page.locator(".sql-chart svg rect.series").count() == 7

    # Run only the selection.
    set_editor(page, "SELECT 'first' AS which;\nSELECT 'second' AS which")
    page.keyboard.press("Control+End")
    page.keyboard.press("Shift+Home")
    page.keyboard.press("Control+Enter")
    page.locator(".sql-rowcount", has_text="1 row").wait_for()
    assert page.locator("table.sql-results td", has_text="second").count() == 1
    assert page.locator("table.sql-results td", has_text="first").count() == 0

    # An error is shown and its position marked in the editor.
    set_editor(page, "SELECT path,\n  nope\nFROM pageviews")
    page.keyboard.press("Control+Enter")
    page.locator(".sql-error", has_text='column "nope" does not exist').wait_for()
    assert page.locator(".cm-sql-error").inner_text() == "nope"

    # Clicking a table in the schema browser inserts its name.
    set_editor(page, "SELECT * FROM ")
    page.locator(".sql-schema button.sql-insert", has_text="signed_up").first.click()
    assert page.evaluate("window.heapsiteSqlEditor.getValue()") == "SELECT * FROM signed_up"

    # Cancel a long query.
    set_editor(page, "SELECT count(*) FROM big a, big b")
    page.keyboard.press("Control+Enter")
    page.locator("#sql-status", has_text="Running").wait_for()
    page.wait_for_timeout(300)
    page.locator("#sql-cancel").click()
    page.locator(".sql-error", has_text="the query was cancelled").wait_for(timeout=10_000)
    assert page.locator("#sql-cancel").is_disabled()

    # Download a CSV.
    set_editor(page, "SELECT g AS n FROM generate_series(1, 300) g")
    with page.expect_download() as download_info:
        page.locator("#sql-csv").click()
    path = tmp_path / "export.csv"
    download_info.value.save_as(path)
    lines = path.read_text().splitlines()
    assert lines[0] == "n" and lines[1] == "1" and len(lines) == 301
