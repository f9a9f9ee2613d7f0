"""Whether heapsite's database is a Citus coordinator, and the layout it then has (docs/scaling.md).

Every Citus-specific branch asks `citus_active()`, and nothing else: the code is otherwise the
same on plain PostgreSQL and on Citus. The answer is the database's own: the `citus` extension
installed in it (Citus packages, or a managed service, put it there; the migration
raw_store_batches_and_citus then distributes the raw store). On Citus:

- `raw_users`, `raw_sessions` and `raw_events` (each environment's partition too) are distributed
  by `user_id`, co-located: a user's rows, sessions and events live on one node;
- `raw_identity_merges` is a reference table (a copy on every node), so the merge map joins
  locally everywhere;
- the warehouse's stored event rows, `users` and `sessions` are distributed by `user_id`,
  co-located with the raw store; `user_migrations` and the sync's merge map are reference tables;
- everything else (the app's own tables, `_sync_info`, `_sync_history`) stays a plain table on
  the coordinator.
"""

from django.db import connection as default_connection

DISTRIBUTION_COLUMN = "user_id"
# Every distributed table is co-located with this one (same shard count, same hash ranges).
COLOCATE_WITH = "raw_users"

# {(host, port, database name): answer}: a database does not turn into a Citus one under a process.
_answers: dict[tuple, bool] = {}


def citus_active(connection=None) -> bool:
    """Whether the database of `connection` (Django's default one if None) has the citus extension."""
    connection = connection or default_connection
    settings = connection.settings_dict
    key = (settings.get("HOST"), settings.get("PORT"), settings.get("NAME"))
    if key not in _answers:
        with connection.cursor() as cursor:
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')")
            _answers[key] = cursor.fetchone()[0]
    return _answers[key]


def citus_mixed_transaction(cursor) -> None:
    """On Citus, let this transaction write reference tables and then run multi-shard commands.

    Citus writes a reference table's copy on the coordinator in the coordinator's own session
    ("local execution"), after which it refuses commands spread over several connections in the
    same transaction; without local execution it reaches that copy over a connection like the
    others'. Call first in the transaction. Nothing to do on plain PostgreSQL.
    """
    if citus_active():
        cursor.execute("SET LOCAL citus.enable_local_execution TO off")
