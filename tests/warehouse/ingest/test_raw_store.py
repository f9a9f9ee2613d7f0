"""The raw store's layout: raw_events has one partition per environment, made and dropped with it."""

from django.db import connection

from warehouse.models import Environment, Project, RawEvent
from warehouse.models.raw import raw_events_partition

from .conftest import button_click


def partitions() -> dict[str, str]:
    """{partition of raw_events: its bound}."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i"
            " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'raw_events'::regclass"
        )
        return dict(cursor.fetchall())


def rows_in(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT event_id FROM "{table}" ORDER BY id')
        return [event_id for (event_id,) in cursor.fetchall()]


def test_each_environment_has_its_own_partition_and_its_events_land_there(post, batch, environment):
    other = Environment(project=Project.objects.create(name="other"), name="staging", warehouse_schema="other_st")
    other.set_api_key("other-key")
    other.save()
    assert partitions() == {
        raw_events_partition(environment.id): f"FOR VALUES IN ('{environment.id}')",
        raw_events_partition(other.id): f"FOR VALUES IN ('{other.id}')",
    }
    assert post("/api/collect", batch(button_click("a"), button_click("b"))).status_code == 200
    assert rows_in(raw_events_partition(environment.id)) == ["a", "b"]
    assert rows_in(raw_events_partition(other.id)) == []
    # Through the parent, as every reader reads them.
    assert list(RawEvent.objects.filter(environment=environment).values_list("event_id", flat=True)) == ["a", "b"]


def test_a_deleted_environment_takes_its_partition_with_it(make_environment):
    kept, gone = make_environment(name="kept"), make_environment(name="gone")
    gone.delete()
    assert list(partitions()) == [raw_events_partition(kept.id)]


def test_ids_stay_unique_and_increasing_across_environments(make_environment):
    first, second = make_environment(name="first"), make_environment(name="second")
    common = {"user_id": 1, "session_id": 1, "time": "2026-01-01T00:00:00Z", "received_at": "2026-01-01T00:00:00Z"}
    made = [
        RawEvent.objects.create(environment=env, event_id=f"e{n}", **common)
        for n, env in enumerate((first, second, first, second))
    ]
    ids = [event.id for event in made]
    assert ids == sorted(set(ids))


def test_partitions_of_environments_gone_by_truncate_go_when_the_next_environment_is_made(make_environment):
    make_environment(name="first")
    with connection.cursor() as cursor:  # no row trigger fires (test suites flush tables this way)
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE warehouse_environment CASCADE")
    assert len(partitions()) == 1
    made = make_environment(name="second")
    assert list(partitions()) == [raw_events_partition(made.id)]
