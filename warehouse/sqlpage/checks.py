"""Checks a query must pass before it is sent to PostgreSQL.

These are layers on top of the real boundary (the environment's role's privileges, roles.py): they
turn obvious misuse into a clear message instead of a PostgreSQL error, and stop statements that
would act on other sessions even where privileges allow it (advisory locks, NOTIFY, cancelling).

Statements are parsed with libpg_query (PostgreSQL's own grammar) through postgast's bindings. We
read its JSON parse tree rather than postgast's protobuf one: the protobuf decoder refuses trees
nested more than ~100 messages deep, which ordinary nested subqueries reach.
"""

import json
from dataclasses import dataclass

from postgast.native import lib as libpg_query

ALLOWED_STATEMENTS = {"SelectStmt", "ExplainStmt"}
# Anywhere in the tree: data-modifying CTEs, SELECT ... INTO, FOR UPDATE/SHARE.
FORBIDDEN_NODES = {
    "InsertStmt": "data-modifying statements (INSERT) are not allowed, not even inside WITH",
    "UpdateStmt": "data-modifying statements (UPDATE) are not allowed, not even inside WITH",
    "DeleteStmt": "data-modifying statements (DELETE) are not allowed, not even inside WITH",
    "MergeStmt": "data-modifying statements (MERGE) are not allowed, not even inside WITH",
    "intoClause": "SELECT ... INTO creates a table and is not allowed",
    "LockingClause": "locking clauses (FOR UPDATE/SHARE) are not allowed",
}
DENIED_FUNCTIONS = {
    "set_config",
    "pg_terminate_backend",
    "pg_cancel_backend",
    "pg_notify",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_stat_file",
    "pg_reload_conf",
    "pg_rotate_logfile",
    "pg_promote",
    "pg_switch_wal",
    "pg_create_restore_point",
    "pg_log_backend_memory_contexts",
    "pg_file_write",
    "pg_file_rename",
    "pg_file_unlink",
    "pg_export_snapshot",
    "pg_import_system_collations",
    "loread",
    "lowrite",
    "nextval",
    "setval",
    "txid_current",
    "pg_current_xact_id",
    # These run SQL given as text, out of this checker's sight.
    "query_to_xml",
    "query_to_xmlschema",
    "query_to_xml_and_xmlschema",
    "cursor_to_xml",
    "cursor_to_xmlschema",
    "table_to_xml",
    "table_to_xmlschema",
    "table_to_xml_and_xmlschema",
    "schema_to_xml",
    "schema_to_xmlschema",
    "schema_to_xml_and_xmlschema",
    "database_to_xml",
    "database_to_xmlschema",
    "database_to_xml_and_xmlschema",
    "ts_stat",
    "ts_rewrite",
}
DENIED_FUNCTION_PREFIXES = (
    "pg_advisory",
    "pg_try_advisory",
    "pg_ls_",
    "lo_",
    "dblink",
    "pg_stat_reset",
    # Other sessions' activity (query text, pids), which the pg_stat_activity view no longer shows.
    "pg_stat_get_activity",
    "pg_stat_get_backend_",
    "pg_replication_",
    "pg_logical_",
    "pg_create_",
    "pg_drop_replication",
    "pg_backup_",
    "pg_wal_replay",
    # Citus (docs/scaling.md) grants most of its functions to every role and checks inside. These
    # run SQL given as text on other nodes, write or read intermediate results, lock shards or
    # change the cluster: none is for a read-only query.
    "citus_",
    "master_",
    "worker_",
    "run_command_on_",
    "lock_shard_",
    "create_distributed_",
    "create_reference_",
    "undistribute_",
    "alter_distributed_",
    "rebalance_",
    "replicate_",
    "isolate_tenant",
    "update_distributed_",
    "truncate_local_data",
    "start_replication_origin",
    "stop_replication_origin",
    "create_intermediate_",
    "broadcast_intermediate_",
    "read_intermediate_",
    "fetch_intermediate_",
    "dump_",
    "get_all_active_transactions",
    "get_global_active_transactions",
    "acquire_citus_",
    "lock_relation_if_exists",
    "alter_role_if_exists",
    "database_command",
    "assign_distributed_transaction_id",
    "mark_node_not_synced",
)


class QueryRejected(Exception):
    """The query was refused before reaching PostgreSQL. ``position`` is a 1-based character offset, if known."""

    def __init__(self, message: str, *, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class CheckedQuery:
    text: str  # the one statement, without a trailing semicolon
    offset: int  # characters before it in the submitted text (positions in errors are relative to it)
    is_explain: bool


def check_query(text: str, *, max_bytes: int) -> CheckedQuery:
    """Return the single read-only statement in ``text`` or raise QueryRejected naming the problem."""
    if "\x00" in text:
        raise QueryRejected("the query contains a NUL byte (\\0), which PostgreSQL cannot accept")
    if "\ufffd" in text:
        # Django replaces bytes that are not UTF-8 with U+FFFD while decoding the form.
        raise QueryRejected("the query is not valid UTF-8 (it contains undecodable bytes, replaced by U+FFFD)")
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise QueryRejected(f"the query is {size:,} bytes; the limit is {max_bytes:,} bytes")
    try:
        encoded = text.encode("utf-8")
    except UnicodeEncodeError:
        raise QueryRejected("the query is not valid UTF-8") from None
    tree = _parse(encoded)
    statements = tree.get("stmts", [])
    if not statements:
        raise QueryRejected("there is no statement to run (the input is empty or only comments)")
    if len(statements) > 1:
        second = _char_position(encoded, statements[1].get("stmt_location", 0))
        raise QueryRejected(
            f"only one statement can run at a time; found {len(statements)}", position=_skip_blank(text, second) + 1
        )
    raw = statements[0]
    start = raw.get("stmt_location", 0)
    length = raw.get("stmt_len", 0) or len(encoded) - start
    statement_text = encoded[start : start + length].decode("utf-8")
    offset = _char_position(encoded, start)
    (kind, node), *_ = raw["stmt"].items()
    _check_statement(kind, node, encoded)
    return CheckedQuery(text=statement_text, offset=offset, is_explain=kind == "ExplainStmt")


def _parse(encoded: bytes) -> dict:
    result = libpg_query.pg_query_parse(encoded)
    try:
        if result.error:
            error = result.error.contents
            message = error.message.decode("utf-8", errors="replace")
            if "memory exhausted" in message or "stack depth" in message:
                raise QueryRejected("the query is nested too deeply to parse")
            position = _char_position(encoded, error.cursorpos - 1) + 1 if error.cursorpos > 0 else None
            # libpg_query's own messages mostly start with "syntax error" already: say it once.
            if not message.lower().startswith("syntax error"):
                message = f"syntax error: {message}"
            raise QueryRejected(message, position=position)
        try:
            return json.loads(result.parse_tree.decode("utf-8"))
        except RecursionError:
            raise QueryRejected("the query is nested too deeply to check") from None
    finally:
        libpg_query.pg_query_free_parse_result(result)


def _check_statement(kind: str, node: dict, encoded: bytes) -> None:
    if kind not in ALLOWED_STATEMENTS:
        label = _STATEMENT_LABELS.get(kind, kind.removesuffix("Stmt"))
        raise QueryRejected(
            f"{label} is not allowed: only read statements can run (SELECT, WITH, VALUES, TABLE, EXPLAIN)"
        )
    if kind == "ExplainStmt":
        for option in node.get("options", []):
            name = option.get("DefElem", {}).get("defname", "")
            if name == "analyze" and not _false_option(option["DefElem"]):
                raise QueryRejected("EXPLAIN ANALYZE runs the statement and is not allowed; use plain EXPLAIN")
        (inner_kind, inner), *_ = node["query"].items()
        if inner_kind != "SelectStmt":
            raise QueryRejected("EXPLAIN is allowed only for read statements (SELECT, WITH, VALUES, TABLE)")
    _check_tree(node, encoded)


def _false_option(defelem: dict) -> bool:
    arg = defelem.get("arg") or {}
    if "String" in arg:
        return arg["String"].get("sval", "").lower() in {"false", "off", "no", "0"}
    if "Integer" in arg:
        return arg["Integer"].get("ival", 0) == 0
    if "Boolean" in arg:
        return not arg["Boolean"].get("boolval", False)
    return False


def _check_tree(root: dict, encoded: bytes) -> None:
    # Iterative: a deeply nested tree must not exhaust Python's stack.
    stack: list = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key in FORBIDDEN_NODES:
                raise QueryRejected(FORBIDDEN_NODES[key], position=_location(value, encoded))
            if key == "FuncCall":
                _check_function(value, encoded)
            elif key == "A_Indirection":  # (x).f is f(x) when f is a function of x's type
                for part in value.get("indirection", []):
                    _check_name(part.get("String", {}).get("sval", ""), value.get("arg"), encoded, attribute=True)
            elif key == "ColumnRef" and len(value.get("fields", [])) > 1:  # t.f is f(t) for a row t
                _check_name(value["fields"][-1].get("String", {}).get("sval", ""), value, encoded, attribute=True)
            if isinstance(value, dict | list):
                stack.append(value)


def _check_function(call: dict, encoded: bytes) -> None:
    parts = [part.get("String", {}).get("sval", "") for part in call.get("funcname", [])]
    _check_name(parts[-1] if parts else "", call, encoded)


# In the attribute notation the name may as well be a column's (`u.worker_id` of an upload): there,
# only the prefixes no column plausibly starts with.
_ATTRIBUTE_PREFIXES = tuple(p for p in DENIED_FUNCTION_PREFIXES if p.startswith(("pg_", "lo_", "dblink", "citus_")))


def _check_name(name: str, node, encoded: bytes, *, attribute: bool = False) -> None:
    """Refuse a denied function, called as f(x) or in the attribute notation (x).f / t.f."""
    name = name.lower()
    if name in DENIED_FUNCTIONS or name.startswith(_ATTRIBUTE_PREFIXES if attribute else DENIED_FUNCTION_PREFIXES):
        raise QueryRejected(
            f"the function {name}() is not allowed on the SQL page (it acts outside this read-only query)",
            position=_location(node, encoded),
        )


def _location(node, encoded: bytes) -> int | None:
    if isinstance(node, dict) and isinstance(node.get("location"), int) and node["location"] >= 0:
        return _char_position(encoded, node["location"]) + 1
    return None


def _char_position(encoded: bytes, byte_offset: int) -> int:
    """libpg_query reports byte offsets; the editor counts characters."""
    return len(encoded[: max(byte_offset, 0)].decode("utf-8", errors="ignore"))


def _skip_blank(text: str, index: int) -> int:
    while index < len(text) and text[index].isspace():
        index += 1
    return index


_STATEMENT_LABELS = {
    "TransactionStmt": "transaction control (BEGIN/COMMIT/ROLLBACK/PREPARE TRANSACTION)",
    "VariableSetStmt": "SET/RESET",
    "VariableShowStmt": "SHOW",
    "DiscardStmt": "DISCARD",
    "DoStmt": "DO",
    "CopyStmt": "COPY",
    "VacuumStmt": "VACUUM/ANALYZE",
    "ListenStmt": "LISTEN",
    "NotifyStmt": "NOTIFY",
    "UnlistenStmt": "UNLISTEN",
    "CreateFunctionStmt": "CREATE FUNCTION",
    "CreateStmt": "CREATE TABLE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
    "PrepareStmt": "PREPARE",
    "ExecuteStmt": "EXECUTE",
    "LockStmt": "LOCK",
    "GrantStmt": "GRANT/REVOKE",
    "GrantRoleStmt": "GRANT/REVOKE",
    "AlterRoleStmt": "ALTER ROLE",
    "AlterRoleSetStmt": "ALTER ROLE",
    "DropStmt": "DROP",
    "CallStmt": "CALL",
    "DeclareCursorStmt": "DECLARE",
    "FetchStmt": "FETCH",
    "CheckPointStmt": "CHECKPOINT",
    "ClusterStmt": "CLUSTER",
    "ReindexStmt": "REINDEX",
    "TruncateStmt": "TRUNCATE",
    "LoadStmt": "LOAD",
}
