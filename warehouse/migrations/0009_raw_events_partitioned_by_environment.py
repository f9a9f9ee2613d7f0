"""raw_events becomes a table partitioned by environment (LIST), one partition per environment.

Every reader of raw events reads one environment's (ingestion, the raw browser, definition
previews, the sync): with a partition each, a pass over an environment's history reads its own
blocks only, in order, whatever the other environments hold, and a sync can split it by block
ranges. The partition of environment N is `raw_events_N`; a trigger on warehouse_environment
creates it with the environment (in the same transaction) and drops it with it, so the invariant
holds however an environment is written (ORM, admin, SQL).

The partition is created on its own and then attached: CREATE TABLE ... PARTITION OF would take
an ACCESS EXCLUSIVE lock on raw_events (every ingestion and sync would wait for the creating
transaction), ATTACH PARTITION takes SHARE UPDATE EXCLUSIVE, which reads and writes pass. Its
CHECK constraint equals the bound, so attaching never scans. Creating an environment also drops
partitions left by environments that went without a DELETE (TRUNCATE, as test suites do).

A partitioned table's unique keys must contain the partition key: the primary key is
(environment_id, id) (ids still come from one sequence, so they stay unique), which also serves
what the separate (environment_id, id) index did; Django's model still names `id` its primary key.

Existing rows are copied into the partitions (indexes built afterwards, once). The identity
sequence continues where the old one stopped.
"""

from django.db import migrations

_INDEXES = """
ALTER TABLE raw_events ADD CONSTRAINT raw_events_pkey PRIMARY KEY (environment_id, id);
ALTER TABLE raw_events ADD CONSTRAINT raw_events_env_event_id UNIQUE (environment_id, event_id);
CREATE INDEX raw_events_env_time ON raw_events (environment_id, "time");
CREATE INDEX raw_events_env_user_time ON raw_events (environment_id, user_id, "time");
CREATE INDEX raw_events_env_session ON raw_events (environment_id, session_id);
CREATE INDEX raw_events_env_xact ON raw_events (environment_id, xact_id);
CREATE INDEX raw_events_env_custom_name ON raw_events (environment_id, event_name, "time")
    WHERE type::text = 'custom'::text;
ALTER TABLE raw_events ADD CONSTRAINT raw_events_environment_id_88edd9dd_fk_warehouse_environment_id
    FOREIGN KEY (environment_id) REFERENCES warehouse_environment (id) DEFERRABLE INITIALLY DEFERRED;
"""

# The old table's keys and indexes go before the copy: their names are reused, and the copy is
# faster into tables without indexes.
_DROP_INDEXES = """
ALTER TABLE raw_events DROP CONSTRAINT raw_events_pkey, DROP CONSTRAINT raw_events_env_event_id;
DROP INDEX raw_events_env_time, raw_events_env_user_time, raw_events_env_session, raw_events_env_xact,
    raw_events_env_custom_name;
"""

FORWARD = (
    _DROP_INDEXES
    + """
DROP INDEX raw_events_env_id;
ALTER TABLE raw_events RENAME TO raw_events_unpartitioned;
ALTER SEQUENCE raw_events_id_seq RENAME TO raw_events_unpartitioned_id_seq;
CREATE TABLE raw_events (LIKE raw_events_unpartitioned INCLUDING DEFAULTS INCLUDING IDENTITY)
    PARTITION BY LIST (environment_id);
SELECT setval(pg_get_serial_sequence('raw_events', 'id'), last_value, is_called) FROM raw_events_unpartitioned_id_seq;

CREATE FUNCTION heapsite_raw_events_partition_create(environment bigint) RETURNS void LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
DECLARE
    partition text := 'raw_events_' || environment;
    orphan text;
BEGIN
    -- Partitions whose environment is gone without a DELETE (a TRUNCATE, which fires no row
    -- trigger and cannot drop tables it is truncating): their rows went with it.
    FOR orphan IN
        SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'raw_events'::regclass
          AND NOT EXISTS (SELECT 1 FROM warehouse_environment e WHERE c.relname = 'raw_events_' || e.id)
    LOOP
        EXECUTE format('DROP TABLE %I', orphan);
    END LOOP;
    IF to_regclass(quote_ident(partition)) IS NULL THEN
        EXECUTE format('CREATE TABLE %I (LIKE raw_events INCLUDING DEFAULTS, CHECK (environment_id = %s))',
            partition, environment);
        EXECUTE format('ALTER TABLE raw_events ATTACH PARTITION %I FOR VALUES IN (%s)', partition, environment);
    END IF;
END;
$$;
CREATE FUNCTION heapsite_environment_raw_events_partition() RETURNS trigger LANGUAGE plpgsql
SET search_path FROM CURRENT AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM heapsite_raw_events_partition_create(NEW.id);
    ELSE
        EXECUTE format('DROP TABLE IF EXISTS %I', 'raw_events_' || OLD.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER warehouse_environment_raw_events_partition AFTER INSERT OR DELETE ON warehouse_environment
    FOR EACH ROW EXECUTE FUNCTION heapsite_environment_raw_events_partition();

SELECT heapsite_raw_events_partition_create(id) FROM warehouse_environment;
INSERT INTO raw_events SELECT * FROM raw_events_unpartitioned;
DROP TABLE raw_events_unpartitioned;
"""
    + _INDEXES
    + "ANALYZE raw_events;"
)

BACKWARD = (
    _DROP_INDEXES
    + """
ALTER TABLE raw_events DROP CONSTRAINT raw_events_environment_id_88edd9dd_fk_warehouse_environment_id;
DROP TRIGGER warehouse_environment_raw_events_partition ON warehouse_environment;
DROP FUNCTION heapsite_environment_raw_events_partition();
DROP FUNCTION heapsite_raw_events_partition_create(bigint);
ALTER TABLE raw_events RENAME TO raw_events_partitioned;
ALTER SEQUENCE raw_events_id_seq RENAME TO raw_events_partitioned_id_seq;
CREATE TABLE raw_events (LIKE raw_events_partitioned INCLUDING DEFAULTS INCLUDING IDENTITY);
SELECT setval(pg_get_serial_sequence('raw_events', 'id'), last_value, is_called) FROM raw_events_partitioned_id_seq;
INSERT INTO raw_events SELECT * FROM raw_events_partitioned;
DROP TABLE raw_events_partitioned;
"""
    + _INDEXES.replace("PRIMARY KEY (environment_id, id)", "PRIMARY KEY (id)")
    + "CREATE INDEX raw_events_env_id ON raw_events (environment_id, id);"
)


class Migration(migrations.Migration):
    dependencies = [("warehouse", "0008_raw_tables_drop_lone_environment_indexes")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[migrations.RemoveIndex(model_name="rawevent", name="raw_events_env_id")],
        )
    ]
