"""Users and sessions carry the id of the transaction that last changed them (xid8), like raw events.

The incremental sync re-reads the users and sessions whose xact_id is at or above the previous
run's bound (docs/warehouse.md "Watermark") instead of those whose last_modified falls in a lag
window: a timestamp is taken when a transaction starts, so it cannot tell which rows committed
after a sync read the table; a writer's xid can. It also makes an incremental sync's cost follow
the rows that really changed.

Inserts take the column default; a trigger stamps every update. Session updates that only move
last_event_time (every ingestion batch of a live session does one) change nothing the warehouse
shows, so they keep their stamp.
"""

from django.db import migrations

FORWARD = """
ALTER TABLE raw_users ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX raw_users_env_xact ON raw_users (environment_id, xact_id);
ALTER TABLE raw_sessions ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX raw_sessions_env_xact ON raw_sessions (environment_id, xact_id);
CREATE FUNCTION heapsite_stamp_xact_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.xact_id := pg_current_xact_id();
    RETURN NEW;
END;
$$;
CREATE TRIGGER raw_users_stamp_xact_id BEFORE UPDATE ON raw_users
    FOR EACH ROW EXECUTE FUNCTION heapsite_stamp_xact_id();
CREATE TRIGGER raw_sessions_stamp_xact_id BEFORE UPDATE ON raw_sessions
    FOR EACH ROW WHEN (
        (to_jsonb(OLD) - 'last_event_time' - 'xact_id') IS DISTINCT FROM (to_jsonb(NEW) - 'last_event_time' - 'xact_id')
    ) EXECUTE FUNCTION heapsite_stamp_xact_id();
"""

BACKWARD = """
DROP TRIGGER raw_sessions_stamp_xact_id ON raw_sessions;
DROP TRIGGER raw_users_stamp_xact_id ON raw_users;
DROP FUNCTION heapsite_stamp_xact_id();
DROP INDEX raw_sessions_env_xact;
ALTER TABLE raw_sessions DROP COLUMN xact_id;
DROP INDEX raw_users_env_xact;
ALTER TABLE raw_users DROP COLUMN xact_id;
"""


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0006_raw_events_custom_name_index")]

    operations = [
        migrations.RunSQL(FORWARD, BACKWARD),
        migrations.RemoveField(model_name="environmentsync", name="modified_since"),
    ]
