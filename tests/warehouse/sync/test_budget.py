"""Every sync statement has a time budget and plans on statistics that describe the data (issue 17):
raw data bulk-loaded into a new environment is synced at once, before autovacuum analyzed anything."""

import logging

import pytest
from django.db import connection
from psycopg2 import errors

from warehouse.citus import citus_active
from warehouse.models.raw import raw_events_partition
from warehouse.services import sync_run_foreground
from warehouse.sync.budget import over_budget

from .conftest import rows, settle

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = """
INSERT INTO raw_events (environment_id, event_id, user_id, session_id, time, received_at, type, event_name, domain,
  path, query, hash, title, referrer, target_tag, target_id, target_classes, target_text, target_href, hierarchy,
  library, properties)
SELECT %(env)s, 'bulk-' || g, g %% 2000 + 1, g %% 4000 + 1, timestamptz '2026-01-01' + g * interval '1 s', now(),
  CASE WHEN g %% 3 = 0 THEN 'click' ELSE 'pageview' END, '', 'shop.example', '/p/' || g %% 50, '', '', 'T', '', '',
  '', '{}', '', '', '[]', 'web', jsonb_build_object('n', g %% 7)
FROM generate_series(%(start)s, %(stop)s) g
"""
SESSIONS = """
INSERT INTO raw_sessions (environment_id, session_id, user_id, time, last_event_time, last_modified, library,
  platform, device_type, browser, country, region, city, referrer, landing_page, landing_page_query,
  landing_page_hash, search_keyword, utm_source, utm_medium, utm_campaign, utm_term, utm_content, properties)
SELECT %(env)s, g, g %% 2000 + 1, timestamptz '2026-01-01' + g * interval '1 min', now(), now(), 'web', 'Linux',
  'Desktop', 'Firefox', '', '', '', '', '', '', '', '', '', '', '', '', '', '{}'
FROM generate_series(%(start)s, %(stop)s) g
"""


def bulk_load(environment, start, stop):
    with connection.cursor() as cursor:
        cursor.execute(EVENTS, {"env": environment.id, "start": start, "stop": stop})
        cursor.execute(SESSIONS, {"env": environment.id, "start": start // 5 + 1, "stop": stop // 5})


def last_analyze(table):
    return rows("SELECT last_analyze, last_autoanalyze FROM pg_stat_user_tables WHERE relname = %s", [table])[0]


def test_a_fresh_bulk_load_is_analyzed_before_planning_and_every_statement_runs_under_a_budget(
    sync_env, set_specs, caplog
):
    partition = raw_events_partition(sync_env.id)
    with connection.cursor() as cursor:  # so that nothing but the sync analyzes it
        cursor.execute(f'ALTER TABLE "{partition}" SET (autovacuum_enabled = false)')
    # A table whose rows exist only if the pass ran under a statement_timeout.
    set_specs(
        sync_env.id,
        [{"key": "d:1", "table_name": "budgeted", "predicate": "current_setting('statement_timeout') <> '0'"}],
    )
    bulk_load(sync_env, 1, 20_000)
    settle()
    assert last_analyze(partition)["last_analyze"] is None
    caplog.set_level(logging.INFO, logger="warehouse.sync")
    full = sync_run_foreground(environment=sync_env, full=True)
    assert full.status == "succeeded", full.error
    analyzed = last_analyze(partition)
    assert analyzed["last_analyze"] >= full.started_at and analyzed["last_autoanalyze"] is None
    assert last_analyze("raw_sessions")["last_analyze"] >= full.started_at
    assert full.tables["pageviews"]["rows"] == 13_334 and full.tables["budgeted"]["rows"] == 20_000

    bulk_load(sync_env, 20_001, 40_000)  # doubles the partition: its statistics are stale at once
    settle()
    incremental = sync_run_foreground(environment=sync_env, full=False)
    assert incremental.status == "succeeded", incremental.error
    if not citus_active():
        # On Citus the coordinator's statistics of a distributed table do not follow its shards'
        # growth: the workers' autovacuum keeps the shards' (docs/scaling.md, "Statistics"). And the
        # shards evaluate the predicate in sessions without the SET LOCAL (Citus does not pass it
        # on): the coordinator's statement_timeout bounds the whole distributed statement instead.
        assert last_analyze(partition)["last_analyze"] >= incremental.started_at
        assert incremental.tables["budgeted"]["rows"] == 20_000
    messages = [record.getMessage() for record in caplog.records]
    assert any("each statement's time budget is 300." in message for message in messages)  # 300 s + tiny data
    assert not any("went over its" in message for message in messages)


def test_a_statement_over_its_budget_is_retried_then_fails_its_table_naming_the_statement(
    raw, sync_env, set_specs, settings
):
    settings.SYNC_STATEMENT_TIMEOUT_MS, settings.SYNC_STATEMENT_MS_PER_MB = 500, 0
    slow = {"key": "d:2", "table_name": "slow", "predicate": "e.type = 'click' AND pg_sleep(0.1) IS NOT NULL"}
    fine = {"key": "d:3", "table_name": "fine", "predicate": "e.type = 'click'"}
    set_specs(sync_env.id, [slow, fine])
    raw.session(1, 2)
    for _ in range(8):  # 0.8 s of sleep for the slow predicate
        raw.event("click", user_id=2)
    settle()
    run = sync_run_foreground(environment=sync_env, full=True)
    assert run.status == "partial", run.error
    error = run.tables["slow"]["error"]
    assert "went over its time budget of 0.5 s twice" in error and "pg_sleep" in error
    assert run.tables["fine"]["rows"] == 8 and run.tables["pageviews"]["action"] == "built"


def test_a_run_whose_statements_cannot_fit_the_budget_fails_naming_the_statement(raw, sync_env, settings):
    settings.SYNC_STATEMENT_TIMEOUT_MS, settings.SYNC_STATEMENT_MS_PER_MB = 1, 0
    raw.session(1, 2)
    raw.event("pageview", user_id=2)
    settle()
    with pytest.raises(Exception):  # noqa: B017 - whichever statement is first over 1 ms
        sync_run_foreground(environment=sync_env, full=True)
    (run,) = rows("SELECT status, error FROM warehouse_sync_run")
    assert (
        run["status"] == "failed"
        and "statement" in run["error"]
        and ("timeout" in run["error"] or "budget" in run["error"])
    )


def test_a_cancellation_once_the_whole_budget_has_run_is_the_budgets():
    """Citus may report the coordinator's statement timeout as its workers' cancellation "due to user
    request": after the whole budget, that is the budget too; before it, someone else cancelled."""
    relayed = errors.QueryCanceled("canceling statement due to user request")
    assert over_budget(errors.QueryCanceled("canceling statement due to statement timeout"), ran_ms=1, budget_ms=500)
    assert over_budget(relayed, ran_ms=500, budget_ms=500)
    assert not over_budget(relayed, ran_ms=20, budget_ms=500)
    assert not over_budget(errors.DivisionByZero("division by zero"), ran_ms=900, budget_ms=500)
