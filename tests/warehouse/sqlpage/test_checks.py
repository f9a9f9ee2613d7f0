"""The parser layer on its own: what reads are accepted, and positions in characters, not bytes."""

import pytest

from warehouse.sqlpage.checks import QueryRejected, check_query
from warehouse.sqlpage.starters import starter_queries


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1",
        "  select 1 ;  ",
        "WITH x AS (SELECT 1 AS a) SELECT a FROM x",
        "VALUES (1, 'a'), (2, 'b')",
        "TABLE pageviews",
        "EXPLAIN SELECT 1",
        "EXPLAIN (ANALYZE false, VERBOSE) SELECT 1",
        "SELECT 1 UNION ALL SELECT 2 ORDER BY 1",
        "SELECT current_setting('work_mem')",
        "SELECT * FROM " + "(SELECT * FROM " * 60 + "pageviews" + ") s" * 60,
        # Columns named like denied functions' prefixes, in the attribute notation (an upload's columns).
        "SELECT u.worker_id, u.master_id, (u.dump_size) FROM uploads u",
    ],
)
def test_read_statements_are_accepted(text):
    checked = check_query(text, max_bytes=100_000)
    assert checked.text.strip() and ";" not in checked.text


def test_statement_text_and_offset_skip_leading_comments():
    checked = check_query("-- why\nSELECT 1;", max_bytes=1000)
    assert checked.text == "SELECT 1" and checked.offset == 7


def test_positions_count_characters_not_bytes():
    with pytest.raises(QueryRejected) as raised:
        check_query("SELECT 'héllo', pg_notify('a', 'b')", max_bytes=1000)
    assert raised.value.position == 17


def test_explain_query_is_run_plainly():
    assert check_query("EXPLAIN SELECT 1", max_bytes=100).is_explain


def test_starters_only_name_tables_the_environment_has():
    assert starter_queries(tables=[]) == []  # before the first sync: nothing that would fail
    pageviews = ("pageviews", ["event_id", "user_id", "session_id", "time"])
    without = [s.name for s in starter_queries(tables=[pageviews])]
    assert without == ["Pageviews per day"]  # no event table yet: no conversion starter naming a missing one
    users = ("users", ["user_id", "identity"])
    event = ("trial_started", ["event_id", "user_id", "session_id", "time"])
    with_event = starter_queries(tables=[pageviews, users, event])
    conversion = next(s for s in with_event if s.name.startswith("Conversion"))
    assert conversion.name == "Conversion: pageview to trial_started" and "JOIN trial_started e" in conversion.sql
    assert "Identified users who did trial_started" in [s.name for s in with_event]
