"""The SQL page's answers are bounded in bytes as well as rows; a CSV that fails never looks complete."""

import csv
import io

import pytest
from django.test import Client

from warehouse.models import SqlQueryRun
from warehouse.sqlpage.services import CsvStreamFailed

from .conftest import fragment_error, run_sql


def page_url(world, name):
    return f"/e/{world.alpha.warehouse_schema}/sql/{name}"


def csv_post(client, world, text):
    return client.post(page_url(world, "csv"), {"sql": text})


def read_csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_long_value_is_cut_on_the_page_with_its_size_and_whole_in_the_csv(analyst_client, run_url, world, settings):
    settings.SQLPAGE_MAX_CELL_CHARS = 1000
    text = "SELECT repeat('é', 30000) AS big, 42 AS n"
    fragment = run_sql(analyst_client, run_url, text)
    assert "é" * 1000 + '<span class="truncated-cell">… truncated (60,000 bytes)</span>' in fragment
    assert "é" * 1001 not in fragment and '<td class="num">42</td>' in fragment
    rows = read_csv(csv_post(analyst_client, world, text))
    assert rows == [["big", "n"], ["é" * 30000, "42"]]


def test_a_gigabyte_value_never_reaches_the_web_process(analyst_client, run_url, world, settings):
    settings.SQLPAGE_STATEMENT_TIMEOUT_MS = 20_000
    fragment = run_sql(analyst_client, run_url, "SELECT repeat('x', 200000000) AS huge")
    assert "truncated (200,000,000 bytes)" in fragment
    assert len(fragment) < 50_000  # 10,000 characters of it, and the page around them


def test_the_page_stops_at_its_byte_budget(analyst_client, run_url, world, settings):
    settings.SQLPAGE_MAX_RESULT_BYTES = 10_000
    fragment = run_sql(analyst_client, run_url, "SELECT g, repeat('y', 1000) AS y FROM generate_series(1, 50) g")
    assert "Results truncated at 9 rows: the page shows at most 9.8\xa0KB of cell text" in fragment
    assert fragment.count("yyyyyyyyyy</td>") == 9
    run = SqlQueryRun.objects.get()
    assert run.row_count == 9 and run.truncated


def test_csv_cells_that_spreadsheets_take_for_formulas_are_neutralised(analyst_client, world, settings):
    text = "SELECT '=1+1' AS a, '+1' AS b, '-x' AS c, '@SUM(A1)' AS d, E'\\tx' AS e, -5 AS n, -1.5::numeric AS m, 'ok' AS f"
    assert read_csv(csv_post(analyst_client, world, text))[1] == [
        "'=1+1",
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "-5",
        "-1.5",
        "ok",
    ]
    settings.SQLPAGE_CSV_NEUTRALISE_FORMULAS = False
    assert read_csv(csv_post(analyst_client, world, text))[1] == [
        "=1+1",
        "+1",
        "-x",
        "@SUM(A1)",
        "\tx",
        "-5",
        "-1.5",
        "ok",
    ]


def test_a_csv_failing_after_its_first_batch_aborts_the_stream_and_shows_in_the_history(
    analyst_client, world, settings
):
    settings.SQLPAGE_CSV_MAX_ROWS = 10_000
    response = csv_post(analyst_client, world, "SELECT g, 1 / (g - 2500) AS x FROM generate_series(1, 5000) g")
    assert response.status_code == 200
    received = []
    with pytest.raises(CsvStreamFailed, match="after 2000 rows: DivisionByZero"):
        for chunk in response.streaming_content:
            received.append(chunk)
    assert b"".join(received).count(b"\n") == 2001  # the header and the first batch; then the transfer breaks
    run = SqlQueryRun.objects.get()
    assert run.kind == "csv" and run.row_count == 2000 and run.error_class == "DivisionByZero"
    history = analyst_client.get(page_url(world, "history")).content.decode()
    assert "CSV failed after 2,000 rows" in history and "Division by zero" in history


def test_csv_batches_are_bounded_in_bytes(analyst_client, world, settings):
    settings.SQLPAGE_CSV_MAX_ROWS = 10_000
    settings.SQLPAGE_CSV_MAX_BATCH_BYTES = 1_000_000
    # Before the first byte: the page says why.
    response = csv_post(analyst_client, world, "SELECT repeat('x', 2000000) AS big")
    assert response.status_code == 400
    assert "row 1 does not fit in a CSV batch" in response.content.decode()
    # After it: the stream breaks at the row that does not fit, the rows before it sent.
    response = csv_post(
        analyst_client,
        world,
        "SELECT g, CASE WHEN g = 3000 THEN repeat('x', 2000000) ELSE 'a' END AS v FROM generate_series(1, 5000) g",
    )
    with pytest.raises(CsvStreamFailed, match="row 3,000 does not fit"):
        b"".join(response.streaming_content)
    assert SqlQueryRun.objects.filter(error_class="ResultTooLarge").latest("id").row_count == 2999


def test_an_oversized_body_is_audited_and_answered_by_the_page(analyst, world, run_url):
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    token = client.get(f"/e/{world.alpha.warehouse_schema}/sql/").cookies["csrftoken"].value
    huge = "SELECT '" + "x" * 3_000_000 + "'"
    for data in ({"csrfmiddlewaretoken": token, "sql": huge},):
        fragment = client.post(run_url, data, HTTP_X_REQUESTED_WITH="fetch").content.decode()
        assert "too big for a query within the limit; the limit is 100,000 bytes" in fragment
    run = SqlQueryRun.objects.get()
    assert run.error_class == "QueryRejected" and run.sql.startswith("-- request body of")
    # Without the CSRF token it is refused like any other forged post, and not audited.
    assert client.post(run_url, {"sql": huge}).status_code == 403
    assert SqlQueryRun.objects.count() == 1


def test_pg_sleep_runs_and_the_statement_timeout_bounds_it(analyst_client, run_url):
    assert fragment_error(run_sql(analyst_client, run_url, "SELECT pg_sleep(0.05)")) == ""
