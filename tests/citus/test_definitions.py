"""Definitions on a Citus cluster: long descendant selectors run on the shards, or are refused by name."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from psycopg2 import sql

from definitions.compiler import CompileError, compile_selector
from warehouse.models import RawEvent

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def test_a_selector_with_four_descendant_steps_matches_on_the_shards(environment):
    hierarchy = [
        {"tag": "button", "classes": ["btn"]},
        {"tag": "form", "id": "signup"},
        {"tag": "div", "classes": ["card"]},
        {"tag": "section", "id": "pricing"},
        {"tag": "main"},
        {"tag": "body"},
        {"tag": "html"},
    ]
    for event_id, target in (("hit", hierarchy), ("miss", [hierarchy[0], *hierarchy[3:]])):
        RawEvent.objects.create(
            environment=environment,
            event_id=event_id,
            user_id=len(event_id),
            session_id=1,
            time=NOW,
            received_at=NOW,
            type="click",
            target_tag="button",
            target_classes=["btn"],
            hierarchy=target,
        )
    predicate, params = compile_selector("main section div form .btn", prefix="s_")
    query = sql.SQL("SELECT e.event_id FROM raw_events e WHERE e.environment_id = %(s_env)s AND {}").format(predicate)
    with connection.cursor() as cursor:
        cursor.execute(query, {**params, "s_env": environment.pk})
        assert cursor.fetchall() == [("hit",)]


def test_one_with_attribute_tests_on_its_ancestors_is_refused_with_the_reason():
    with pytest.raises(CompileError, match="Citus cluster a selector may have at most two descendant steps"):
        compile_selector("main section[data-plan] div form .btn", prefix="s_")
