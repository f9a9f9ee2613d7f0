"""The raw store on Citus: keys that contain user_id, a batch-number watermark, and distribution.

1. **Keys.** Citus distributes the raw tables by user_id, and a distributed table's unique keys
   must contain it: raw_users' primary key becomes (environment_id, user_id), raw_sessions'
   (environment_id, session_id, user_id), raw_events' (environment_id, id, user_id) and its event
   id key (environment_id, event_id, user_id) (a retry repeats the user with the event id). The
   same keys on plain PostgreSQL, so both run the same statements. The raw tables' foreign keys
   to warehouse_environment go: a distributed table cannot reference a plain one (models/raw.py).
   The unique index on raw_users.identity becomes a plain one: an identity maps to one user id
   (warehouse/identity.py), which the primary key keeps unique.

2. **Batches.** Every raw row carries `batch`, the number of the ingestion transaction that last
   wrote it, instead of its writer's transaction id (xid8), which is per node on Citus. A writer
   gets its number from heapsite_raw_batch() (a column default; ingestion calls it explicitly):
   one per transaction, from raw_batch_seq on the coordinator, and it holds an advisory lock on
   it until the transaction ends. The sync reads rows below the lowest batch still in flight
   (warehouse/sync/watermark.py explains why that never skips a committed row, also when
   transactions commit out of order). Existing rows get batch 0 and every environment's next
   sync is a full one. A recorded warehouse deletion (privacy) carries its transaction's batch too.

3. **Citus.** When the database has the citus extension (warehouse/citus.py), raw_users,
   raw_sessions and raw_events (partitions included) are distributed by user_id, co-located;
   raw_identity_merges becomes a reference table; the function the sync calls on every node is
   distributed. On plain PostgreSQL this step does nothing.
"""

import django.db.models.deletion
from django.db import migrations, models

from warehouse.citus import citus_active

# pg_advisory_xact_lock(bigint) keys: BATCH_LOCKS + 0 is held (shared) from before a writer takes
# its number until its transaction ends; BATCH_LOCKS + n (exclusive) marks batch n in flight.
# warehouse/sql/sync.py reads them back (BATCH_LOCK_CLASSID is this number's upper 32 bits).
BATCH_LOCKS = 0x4853 << 48

KEYS = """
ALTER TABLE raw_users DROP CONSTRAINT raw_users_pkey, DROP CONSTRAINT raw_users_env_user;
ALTER TABLE raw_users ADD CONSTRAINT raw_users_pkey PRIMARY KEY (environment_id, user_id);
DROP INDEX raw_users_env_identity;
CREATE INDEX raw_users_env_identity ON raw_users (environment_id, identity) WHERE identity IS NOT NULL;
ALTER TABLE raw_sessions DROP CONSTRAINT raw_sessions_pkey, DROP CONSTRAINT raw_sessions_env_session;
ALTER TABLE raw_sessions ADD CONSTRAINT raw_sessions_pkey PRIMARY KEY (environment_id, session_id, user_id);
ALTER TABLE raw_events DROP CONSTRAINT raw_events_pkey, DROP CONSTRAINT raw_events_env_event_id;
ALTER TABLE raw_events ADD CONSTRAINT raw_events_pkey PRIMARY KEY (environment_id, id, user_id);
ALTER TABLE raw_events ADD CONSTRAINT raw_events_env_event_id UNIQUE (environment_id, event_id, user_id);
"""

KEYS_BACKWARD = """
ALTER TABLE raw_events DROP CONSTRAINT raw_events_pkey, DROP CONSTRAINT raw_events_env_event_id;
ALTER TABLE raw_events ADD CONSTRAINT raw_events_pkey PRIMARY KEY (environment_id, id);
ALTER TABLE raw_events ADD CONSTRAINT raw_events_env_event_id UNIQUE (environment_id, event_id);
ALTER TABLE raw_sessions DROP CONSTRAINT raw_sessions_pkey;
ALTER TABLE raw_sessions ADD CONSTRAINT raw_sessions_pkey PRIMARY KEY (id);
ALTER TABLE raw_sessions ADD CONSTRAINT raw_sessions_env_session UNIQUE (environment_id, session_id);
DROP INDEX raw_users_env_identity;
CREATE UNIQUE INDEX raw_users_env_identity ON raw_users (environment_id, identity) WHERE identity IS NOT NULL;
ALTER TABLE raw_users DROP CONSTRAINT raw_users_pkey;
ALTER TABLE raw_users ADD CONSTRAINT raw_users_pkey PRIMARY KEY (id);
ALTER TABLE raw_users ADD CONSTRAINT raw_users_env_user UNIQUE (environment_id, user_id);
"""

BATCHES = f"""
-- Numbers are handed out in the order of the calls (no per-session cache), which the sync relies on.
CREATE SEQUENCE raw_batch_seq CACHE 1;
CREATE FUNCTION heapsite_raw_batch() RETURNS bigint LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    batch bigint := nullif(current_setting('heapsite.raw_batch', true), '')::bigint;
BEGIN
    IF batch IS NULL THEN
        -- The gate first, so the sync never misses a writer between nextval and its batch's lock.
        PERFORM pg_advisory_xact_lock_shared({BATCH_LOCKS});
        batch := nextval('raw_batch_seq');
        PERFORM pg_advisory_xact_lock({BATCH_LOCKS} + batch);
        -- Transaction-local: the next transaction gets its own number. A rolled-back savepoint
        -- reverts it together with its lock and its rows.
        PERFORM set_config('heapsite.raw_batch', batch::text, true);
    END IF;
    RETURN batch;
END;
$$;
DROP TRIGGER raw_users_stamp_xact_id ON raw_users;
DROP TRIGGER raw_sessions_stamp_xact_id ON raw_sessions;
DROP FUNCTION heapsite_stamp_xact_id();
ALTER TABLE raw_events DROP COLUMN xact_id, ADD COLUMN batch bigint NOT NULL DEFAULT 0;
ALTER TABLE raw_users DROP COLUMN xact_id, ADD COLUMN batch bigint NOT NULL DEFAULT 0;
ALTER TABLE raw_sessions DROP COLUMN xact_id, ADD COLUMN batch bigint NOT NULL DEFAULT 0;
ALTER TABLE raw_identity_merges DROP COLUMN xact_id, ADD COLUMN batch bigint NOT NULL DEFAULT 0;
ALTER TABLE raw_events ALTER COLUMN batch SET DEFAULT heapsite_raw_batch();
ALTER TABLE raw_users ALTER COLUMN batch SET DEFAULT heapsite_raw_batch();
ALTER TABLE raw_sessions ALTER COLUMN batch SET DEFAULT heapsite_raw_batch();
ALTER TABLE raw_identity_merges ALTER COLUMN batch SET DEFAULT heapsite_raw_batch();
CREATE INDEX raw_events_env_batch ON raw_events (environment_id, batch);
CREATE INDEX raw_users_env_batch ON raw_users (environment_id, batch);
CREATE INDEX raw_sessions_env_batch ON raw_sessions (environment_id, batch);
CREATE INDEX raw_merges_env_batch ON raw_identity_merges (environment_id, batch);
-- A recorded warehouse deletion is applied once its transaction has finished: its batch tells.
ALTER TABLE privacy_warehouse_deletion DROP COLUMN xact_id, ADD COLUMN batch bigint NOT NULL DEFAULT 0;
ALTER TABLE privacy_warehouse_deletion ALTER COLUMN batch SET DEFAULT heapsite_raw_batch();
-- Watermarks were transaction ids: every environment starts again with a full sync.
UPDATE warehouse_environment_sync SET events_xmin = NULL;
"""

BATCHES_BACKWARD = """
UPDATE warehouse_environment_sync SET events_xmin = NULL;
ALTER TABLE privacy_warehouse_deletion DROP COLUMN batch, ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE raw_events DROP COLUMN batch, ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE raw_users DROP COLUMN batch, ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE raw_sessions DROP COLUMN batch, ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE raw_identity_merges DROP COLUMN batch, ADD COLUMN xact_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX raw_events_env_xact ON raw_events (environment_id, xact_id);
CREATE INDEX raw_users_env_xact ON raw_users (environment_id, xact_id);
CREATE INDEX raw_sessions_env_xact ON raw_sessions (environment_id, xact_id);
CREATE INDEX raw_merges_env_xact ON raw_identity_merges (environment_id, xact_id);
DROP FUNCTION heapsite_raw_batch();
DROP SEQUENCE raw_batch_seq;
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

DISTRIBUTE = """
SELECT create_distributed_function('heapsite_is_timestamptz(text)');
SELECT create_distributed_table('raw_users', 'user_id');
SELECT create_distributed_table('raw_sessions', 'user_id', colocate_with => 'raw_users');
SELECT create_distributed_table('raw_events', 'user_id', colocate_with => 'raw_users');
SELECT create_reference_table('raw_identity_merges');
"""

UNDISTRIBUTE = """
SELECT undistribute_table('raw_identity_merges');
SELECT undistribute_table('raw_events');
SELECT undistribute_table('raw_sessions');
SELECT undistribute_table('raw_users');
"""


def _on_citus(sql_text: str):
    def run(apps, schema_editor) -> None:
        if citus_active(schema_editor.connection):
            schema_editor.execute(sql_text)

    return run


_ENVIRONMENT = models.ForeignKey(
    db_constraint=False,
    db_index=False,
    on_delete=django.db.models.deletion.CASCADE,
    related_name="+",
    to="warehouse.environment",
)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0014_sync_isolation_and_health")]

    operations = [
        *[
            migrations.AlterField(model_name=model, name="environment", field=_ENVIRONMENT.clone())
            for model in ("identitymerge", "rawevent", "rawsession", "rawuser")
        ],
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(KEYS, KEYS_BACKWARD)],
            state_operations=[
                migrations.RemoveConstraint(model_name="rawevent", name="raw_events_env_event_id"),
                migrations.RemoveConstraint(model_name="rawsession", name="raw_sessions_env_session"),
                migrations.RemoveConstraint(model_name="rawuser", name="raw_users_env_user"),
                migrations.RemoveConstraint(model_name="rawuser", name="raw_users_env_identity"),
                migrations.AddIndex(
                    model_name="rawuser",
                    index=models.Index(
                        condition=models.Q(("identity__isnull", False)),
                        fields=["environment", "identity"],
                        name="raw_users_env_identity",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="rawevent",
                    constraint=models.UniqueConstraint(
                        fields=("environment", "event_id", "user_id"), name="raw_events_env_event_id"
                    ),
                ),
            ],
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(BATCHES, BATCHES_BACKWARD)],
            state_operations=[
                migrations.AddField(
                    model_name=model,
                    name="batch",
                    field=models.BigIntegerField(
                        db_default=models.Func(function="heapsite_raw_batch", output_field=models.BigIntegerField()),
                        editable=False,
                    ),
                )
                for model in ("identitymerge", "rawevent", "rawsession", "rawuser")
            ],
        ),
        migrations.RunPython(_on_citus(DISTRIBUTE), _on_citus(UNDISTRIBUTE)),
    ]
