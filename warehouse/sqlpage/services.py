"""Writes of the SQL page: running queries (audited), CSV exports, cancelling, saved queries."""

import csv
import hashlib
import io
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from warehouse.models import Environment, SavedQuery, SqlQueryRun, SqlRole
from warehouse.models.sqlpage import SqlRunKind
from warehouse.roles import role_connection_info, sql_role_ensure, sql_role_is_current, sql_role_name
from warehouse.sources.services import sources_grant

from . import limits
from .checks import CheckedQuery, QueryRejected, check_query
from .execute import QueryFailed, QueryResult, StreamOutcome, cancel_backend, run_query, stream_query
from .render import error_headline

logger = logging.getLogger(__name__)
AUDIT_SQL_CHARS = 20_000


@dataclass
class RunOutcome:
    run: SqlQueryRun
    sql: str
    result: QueryResult | None = None
    error: str = ""
    error_class: str = ""
    error_detail: str = ""
    # 1-based character position in the submitted text, for marking the editor.
    error_position: int | None = None

    @property
    def error_headline(self) -> str:
        return error_headline(self.error_class)


def _audit_start(
    *, environment: Environment, user: AbstractBaseUser, text: str, kind: str, save: bool = True
) -> SqlQueryRun:
    """The audit row of a run. Page runs last at most the statement timeout and write it once, when they
    end (one write less per query); CSV streams can run for minutes, so theirs is written up front."""
    digest = hashlib.sha256(text.encode("utf-8", errors="surrogatepass")).hexdigest()
    # PostgreSQL text cannot hold NUL; the hash still identifies the exact input.
    stored = text[:AUDIT_SQL_CHARS].replace("\x00", "\ufffd").encode("utf-8", errors="replace").decode("utf-8")
    run = SqlQueryRun(
        environment=environment,
        user=user,
        kind=kind,
        sql=stored,
        sql_sha256=digest,
        started_at=timezone.now(),
    )
    if save:
        run.save()
    return run


def _audit_finish(run: SqlQueryRun, *, rows: int | None, truncated: bool, error_class: str, error: str) -> None:
    run.finished_at = timezone.now()
    run.row_count = rows
    run.truncated = truncated
    run.error_class = error_class
    run.error_message = error[:2000]
    if run.pk is None:
        run.save()
    else:
        run.save(update_fields=["finished_at", "row_count", "truncated", "error_class", "error_message"])
    logger.info(
        "sql run %s env=%s user=%s rows=%s truncated=%s error=%s ms=%s",
        run.pk,
        run.environment_id,
        run.user_id,
        rows,
        truncated,
        error_class or "-",
        run.elapsed_ms,
    )


def sql_role_prepare(environment: Environment) -> SqlRole:
    """Create or update the environment's role, then grant it its uploads and attached schemas too."""
    sql_role = sql_role_ensure(environment)
    sources_grant(environment=environment)
    return sql_role


def _with_role(environment: Environment, action):
    """Call ``action(sql_role)``; if the role cannot log in (dropped or restored behind the app's back),
    re-create it once and retry."""
    current = sql_role_is_current(environment)
    try:
        return action(current or sql_role_prepare(environment))
    except QueryFailed as error:
        # Only a failed login means the role is gone or changed; a full connection limit is not (CONNECTION_LIMIT).
        if current is None or error.error_class != "ConnectionFailed":
            raise
        logger.warning("SQL role of %s could not log in (%s); re-creating it", environment, error.message)
        return action(sql_role_prepare(environment))


def _slot_ttl(kind: str) -> int:
    if kind == SqlRunKind.CSV:
        return 6 * 3600  # a stream lasts as long as the client reads; the idle timeout still bounds a stalled one
    return settings.SQLPAGE_STATEMENT_TIMEOUT_MS // 1000 + 60


def clean_run_token(token: str | None) -> str:
    if token and limits.RUN_TOKEN_RE.match(token):
        return token
    return uuid.uuid4().hex


def sql_query_run(*, environment: Environment, user: AbstractBaseUser, text: str, run_token: str) -> RunOutcome:
    """Check, run and audit one query from the SQL page. Never raises for a bad query: the outcome says why."""
    run = _audit_start(environment=environment, user=user, text=text, kind=SqlRunKind.PAGE, save=False)
    outcome = RunOutcome(run=run, sql=text)
    acquired = False
    try:
        checked = check_query(text, max_bytes=settings.SQLPAGE_MAX_QUERY_BYTES)
        limits.query_slot_acquire(user_id=user.pk, token=run_token, ttl_seconds=_slot_ttl(SqlRunKind.PAGE))
        acquired = True
        outcome.result = _with_role(
            environment,
            lambda sql_role: run_query(
                sql_role=sql_role,
                checked=checked,
                max_rows=settings.SQLPAGE_MAX_ROWS,
                max_bytes=settings.SQLPAGE_MAX_RESULT_BYTES,
                cell_chars=settings.SQLPAGE_MAX_CELL_CHARS,
                on_backend=lambda pid: limits.backend_register(
                    user_id=user.pk, token=run_token, pid=pid, ttl_seconds=_slot_ttl(SqlRunKind.PAGE)
                ),
                cancelled=lambda: limits.cancel_marked(user_id=user.pk, token=run_token),
            ),
        )
    except QueryRejected as error:
        outcome.error, outcome.error_class, outcome.error_position = error.message, "QueryRejected", error.position
    except limits.LimitExceeded as error:
        outcome.error, outcome.error_class = error.message, error.error_class
    except QueryFailed as error:
        outcome.error, outcome.error_class = error.message, error.error_class
        outcome.error_position, outcome.error_detail = error.position, error.detail
    finally:
        if acquired:
            limits.query_slot_release(user_id=user.pk, token=run_token)
        result = outcome.result
        _audit_finish(
            run,
            rows=result.row_count if result else None,
            truncated=result.truncated if result else False,
            error_class=outcome.error_class,
            error=outcome.error,
        )
    return outcome


def sql_query_reject_oversized(*, environment: Environment, user: AbstractBaseUser, size: int, kind: str) -> RunOutcome:
    """Audit and explain a request whose body is too large to read at all (sqlpage/middleware.py)."""
    limit = settings.SQLPAGE_MAX_QUERY_BYTES
    run = _audit_start(environment=environment, user=user, text=f"-- request body of {size} bytes, not read", kind=kind)
    message = f"the request is {size:,} bytes, too big for a query within the limit; the limit is {limit:,} bytes"
    _audit_finish(run, rows=None, truncated=False, error_class="QueryRejected", error=message)
    return RunOutcome(run=run, sql="", error=message, error_class="QueryRejected")


class CsvStreamFailed(Exception):
    """A CSV export failed after its first bytes were sent (audited; the page's history shows it)."""

    def __init__(self, rows_sent: int, error: QueryFailed):
        super().__init__(f"CSV export failed after {rows_sent} rows: {error.error_class}: {error.message}")
        self.error = error


@dataclass
class CsvExport:
    filename: str
    chunks: Iterator[bytes]


def sql_query_csv(*, environment: Environment, user: AbstractBaseUser, text: str, run_token: str) -> CsvExport:
    """Start a streamed CSV export. Problems found before the first row raise QueryRejected/QueryFailed/
    LimitExceeded (audited); the stream itself audits its row count when it ends."""
    run = _audit_start(environment=environment, user=user, text=text, kind=SqlRunKind.CSV)
    acquired = False
    try:
        checked: CheckedQuery = check_query(text, max_bytes=settings.SQLPAGE_MAX_QUERY_BYTES)
        limits.query_slot_acquire(user_id=user.pk, token=run_token, ttl_seconds=_slot_ttl(SqlRunKind.CSV))
        acquired = True
        outcome = StreamOutcome()
        columns, batches = _with_role(
            environment,
            lambda sql_role: stream_query(
                sql_role=sql_role,
                checked=checked,
                max_rows=settings.SQLPAGE_CSV_MAX_ROWS,
                max_batch_bytes=settings.SQLPAGE_CSV_MAX_BATCH_BYTES,
                neutralise_formulas=settings.SQLPAGE_CSV_NEUTRALISE_FORMULAS,
                outcome=outcome,
                on_backend=lambda pid: limits.backend_register(
                    user_id=user.pk, token=run_token, pid=pid, ttl_seconds=_slot_ttl(SqlRunKind.CSV)
                ),
                cancelled=lambda: limits.cancel_marked(user_id=user.pk, token=run_token),
            ),
        )
    except (QueryRejected, QueryFailed, limits.LimitExceeded) as error:
        if acquired:
            limits.query_slot_release(user_id=user.pk, token=run_token)
        error_class = getattr(error, "error_class", "QueryRejected")
        _audit_finish(run, rows=None, truncated=False, error_class=error_class, error=error.message)
        raise

    def chunks() -> Iterator[bytes]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([column.name for column in columns])
        try:
            for rows in batches:
                # Every value is text or None already (bounded.csv_statement): straight to the writer.
                writer.writerows(rows)
                yield buffer.getvalue().encode("utf-8")
                buffer.seek(0)
                buffer.truncate()
            if outcome.error is None and buffer.tell():
                yield buffer.getvalue().encode("utf-8")
        finally:
            batches.close()
            limits.query_slot_release(user_id=user.pk, token=run_token)
            error = outcome.error
            _audit_finish(
                run,
                rows=outcome.row_count,
                truncated=outcome.truncated,
                error_class=error.error_class if error else "",
                error=error.message if error else "",
            )
        if outcome.error is not None:
            # Raised, not written: the server then drops the connection before the chunked response's end,
            # so the browser (or curl) reports a failed download instead of saving a short file.
            raise CsvStreamFailed(outcome.row_count, outcome.error)

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return CsvExport(filename=f"{environment.warehouse_schema}-{stamp}.csv", chunks=chunks())


def sql_query_cancel(*, environment: Environment, user: AbstractBaseUser, run_token: str) -> bool:
    """Cancel the user's own running query. Only the query's owner can: the registry is keyed by user."""
    pid = limits.backend_lookup(user_id=user.pk, token=run_token)
    if pid is None:
        return False
    limits.cancel_mark(user_id=user.pk, token=run_token)
    cancel_backend(pid=pid, role_name=sql_role_name(environment))
    return True


def _saved_query_fields(
    *, environment: Environment, name: str, description: str, sql: str, exclude_id: int | None = None
) -> dict[str, str]:
    """The cleaned fields of a saved query; raises ValidationError naming each bad field in words."""
    name = " ".join(name.split())
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "give the query a name"
    elif len(name) > 200:
        errors["name"] = "a name has at most 200 characters"
    elif SavedQuery.objects.filter(environment=environment, name__iexact=name).exclude(pk=exclude_id).exists():
        errors["name"] = (
            f"there is already a saved query named {name!r} here: pick another name, or open it and update it"
        )
    if not sql.strip():
        errors["sql"] = "there is no SQL to save"
    elif "\x00" in sql or len(sql.encode()) > settings.SQLPAGE_MAX_QUERY_BYTES:
        errors["sql"] = "the SQL contains a NUL byte or is over the size limit"
    if errors:
        raise ValidationError(errors)
    return {"name": name, "description": description.strip(), "sql": sql}


def _saved_query_save(saved: SavedQuery, **update_fields) -> SavedQuery:
    saved.full_clean(validate_constraints=False)
    try:
        with transaction.atomic():
            saved.save(**update_fields)
    except IntegrityError:  # the same name saved at the same moment by someone else
        raise ValidationError({"name": f"there is already a saved query named {saved.name!r} here"}) from None
    return saved


def saved_query_create(
    *, environment: Environment, owner: AbstractBaseUser, name: str, description: str, sql: str
) -> SavedQuery:
    """A named query of the environment (names are unique per environment, ignoring case)."""
    fields = _saved_query_fields(environment=environment, name=name, description=description, sql=sql)
    return _saved_query_save(SavedQuery(environment=environment, owner=owner, **fields))


def _check_may_change(saved: SavedQuery, user: AbstractBaseUser, is_admin: bool, what: str) -> None:
    if saved.owner_id != user.pk and not is_admin:
        raise ValidationError(f"only the person who saved this query (or an admin) can {what} it")


def saved_query_update(
    *, saved: SavedQuery, user: AbstractBaseUser, is_admin: bool, name: str, description: str, sql: str
) -> SavedQuery:
    """Edit a saved query in place (rename, describe, new SQL): its owner may, and so may an admin."""
    _check_may_change(saved, user, is_admin, "change")
    fields = _saved_query_fields(
        environment=saved.environment, name=name, description=description, sql=sql, exclude_id=saved.pk
    )
    for key, value in fields.items():
        setattr(saved, key, value)
    return _saved_query_save(saved, update_fields=[*fields, "updated_at"])


def saved_query_delete(*, saved: SavedQuery, user: AbstractBaseUser, is_admin: bool) -> None:
    """Delete a saved query: its owner may, and so may an admin of the environment."""
    _check_may_change(saved, user, is_admin, "delete")
    saved.delete()


def sql_role_connection_info(*, environment: Environment, show_password: bool) -> dict[str, str]:
    """Ensure the role and describe how to connect as it (for psql, Metabase, dbt)."""
    sql_role = sql_role_prepare(environment)
    return role_connection_info(role=sql_role, schema=environment.warehouse_schema, show_password=show_password)
