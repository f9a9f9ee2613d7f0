"""Commit-order-safe sync watermark and a safe timestamp check for property type inference.

Raw events and identity merges get the id of the transaction that wrote them (xid8). Ids from a
sequence are handed out before commit, so a transaction can commit id 100 after another one's 101
became visible; the sync instead processes rows whose writer finished, i.e. whose xact_id is below
pg_snapshot_xmin(pg_current_snapshot()) (docs/warehouse.md "Watermark").
"""

from django.db import migrations

FORWARD = """
ALTER TABLE raw_events ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX raw_events_env_xact ON raw_events (environment_id, xact_id);
ALTER TABLE raw_identity_merges ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX raw_merges_env_xact ON raw_identity_merges (environment_id, xact_id);
CREATE FUNCTION heapsite_is_timestamptz(value text) RETURNS boolean
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    PERFORM value::timestamptz;
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END;
$$;
"""

BACKWARD = """
DROP FUNCTION heapsite_is_timestamptz(text);
DROP INDEX raw_merges_env_xact;
ALTER TABLE raw_identity_merges DROP COLUMN xact_id;
DROP INDEX raw_events_env_xact;
ALTER TABLE raw_events DROP COLUMN xact_id;
"""


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0003_sync_runs")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
