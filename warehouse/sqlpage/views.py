"""The SQL page (/e/<schema>/sql/). Views parse, call one service or selector, render."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST

from warehouse.access import Permission, access_environment
from warehouse.models.sqlpage import SqlRunKind
from warehouse.params import whole_number

from . import selectors, services
from .checks import QueryRejected
from .execute import QueryFailed
from .limits import LimitExceeded
from .render import column_kind, results_table_html
from .starters import starter_queries


def sql_environment_view(view):
    """access_environment with the SQL permission (a member without it gets a page saying how to get it);
    responses are private and never cached."""

    @wraps(view)
    def wrapper(request: HttpRequest, schema: str, *args, **kwargs):
        environment = access_environment(request, schema, Permission.VIEW)
        if not request.environment_access.can(Permission.SQL):
            response = render(request, "warehouse/sqlpage/forbidden.html", {"environment": environment}, status=403)
        else:
            response = view(request, environment, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    return wrapper


def _submitted_sql(request: HttpRequest) -> str:
    # Browsers send textarea and FormData line breaks as CRLF; the editor has LF, and error positions
    # are counted in the editor's text.
    return request.POST.get("sql", "").replace("\r\n", "\n")


def _oversized(request: HttpRequest) -> int:
    """The size of a body too big to read (OversizedSqlBodyMiddleware), else 0."""
    return getattr(request, "sql_body_oversized", 0)


def _field_errors(error: ValidationError) -> dict[str, list[str]]:
    """field -> messages, shown next to their field; errors about no field in particular under "form"."""
    return error.message_dict if hasattr(error, "error_dict") else {"form": error.messages}


def _is_fragment(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _limits() -> dict:
    return {
        "max_rows": settings.SQLPAGE_MAX_ROWS,
        "csv_max_rows": settings.SQLPAGE_CSV_MAX_ROWS,
        "max_result_bytes": settings.SQLPAGE_MAX_RESULT_BYTES,
        "max_cell_chars": settings.SQLPAGE_MAX_CELL_CHARS,
        "timeout_s": settings.SQLPAGE_STATEMENT_TIMEOUT_MS / 1000,
    }


def _page_context(request: HttpRequest, environment, **extra) -> dict:
    schemas = selectors.sql_schema_tables(environment=environment)
    warehouse_tables = schemas[0].tables
    context = {
        "environment": environment,
        "schemas": schemas,
        "starters": starter_queries(tables=[(t.name, [column for column, _ in t.columns]) for t in warehouse_tables]),
        "history": selectors.sql_history(user=request.user, environment=environment),
        "saved_queries": selectors.saved_queries(environment=environment),
        "limits": _limits(),
        "initial_sql": "",
        "saved": None,
        "outcome": None,
        "results_html": "",
        "column_kinds": [],
        "csv_error": "",
        "save_errors": None,
        "save_form": {"name": "", "description": ""},
        "update_errors": None,
        "update_form": None,
        "autorun": False,
    }
    context.update(extra)
    return context


def _outcome_context(outcome) -> dict:
    result = outcome.result
    return {
        "outcome": outcome,
        "results_html": results_table_html(result) if result else "",
        "column_kinds": [column_kind(column) for column in result.columns] if result else [],
    }


@require_GET
@sql_environment_view
def sql_page(request: HttpRequest, environment) -> HttpResponse:
    extra = {}
    if saved_id := request.GET.get("saved", "").strip():
        number = whole_number(saved_id)
        saved = selectors.saved_query_get(environment=environment, saved_id=number) if number is not None else None
        if saved is not None:
            # Opening a saved query runs it (the page's script; without it, one click on Run).
            extra.update(saved=saved, initial_sql=saved.sql, autorun=True)
    elif run_id := request.GET.get("run", "").strip():
        number = whole_number(run_id)
        run = (
            selectors.sql_history_entry(user=request.user, environment=environment, run_id=number)
            if number is not None
            else None
        )
        if run is not None:
            extra["initial_sql"] = run.sql
    return render(request, "warehouse/sqlpage/page.html", _page_context(request, environment, **extra))


@require_POST
@sql_environment_view
def sql_run(request: HttpRequest, environment) -> HttpResponse:
    text = _submitted_sql(request)
    if size := _oversized(request):
        outcome = services.sql_query_reject_oversized(
            environment=environment, user=request.user, size=size, kind=SqlRunKind.PAGE
        )
    else:
        outcome = services.sql_query_run(
            environment=environment,
            user=request.user,
            text=text,
            run_token=services.clean_run_token(request.POST.get("run_token")),
        )
    context = {"environment": environment, "limits": _limits(), **_outcome_context(outcome)}
    if _is_fragment(request):
        # No request: the fragment needs no context processors (they would query every environment).
        return HttpResponse(render_to_string("warehouse/sqlpage/_results.html", context))
    return render(
        request,
        "warehouse/sqlpage/page.html",
        _page_context(request, environment, initial_sql=text, **_outcome_context(outcome)),
    )


@require_POST
@sql_environment_view
def sql_cancel(request: HttpRequest, environment) -> HttpResponse:
    cancelled = services.sql_query_cancel(
        environment=environment, user=request.user, run_token=request.POST.get("run_token", "")
    )
    message = "cancel requested" if cancelled else "no running query of yours with that id (it may have finished)"
    return JsonResponse({"cancelled": cancelled, "message": message})


@require_POST
@sql_environment_view
def sql_csv(request: HttpRequest, environment) -> HttpResponse:
    text = _submitted_sql(request)
    if size := _oversized(request):
        outcome = services.sql_query_reject_oversized(
            environment=environment, user=request.user, size=size, kind=SqlRunKind.CSV
        )
        context = _page_context(request, environment, csv_error=outcome.error)
        return render(request, "warehouse/sqlpage/page.html", context, status=413)
    try:
        export = services.sql_query_csv(
            environment=environment,
            user=request.user,
            text=text,
            run_token=services.clean_run_token(request.POST.get("run_token")),
        )
    except (QueryRejected, QueryFailed, LimitExceeded) as error:
        context = _page_context(request, environment, initial_sql=text)
        context["csv_error"] = error.message
        return render(request, "warehouse/sqlpage/page.html", context, status=400)
    response = StreamingHttpResponse(export.chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    return response


@require_GET
@sql_environment_view
def sql_history(request: HttpRequest, environment) -> HttpResponse:
    history = selectors.sql_history(user=request.user, environment=environment)
    return render(request, "warehouse/sqlpage/_history.html", {"environment": environment, "history": history})


@require_POST
@sql_environment_view
def saved_query_create(request: HttpRequest, environment) -> HttpResponse:
    if size := _oversized(request):
        message = f"the query is {size:,} bytes or more; the limit is {settings.SQLPAGE_MAX_QUERY_BYTES:,} bytes"
        context = _page_context(request, environment, save_errors={"sql": [message]})
        return render(request, "warehouse/sqlpage/page.html", context, status=413)
    try:
        saved = services.saved_query_create(
            environment=environment,
            owner=request.user,
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            sql=_submitted_sql(request),
        )
    except ValidationError as error:
        context = _page_context(
            request,
            environment,
            initial_sql=_submitted_sql(request),
            save_errors=_field_errors(error),
            save_form={"name": request.POST.get("name", ""), "description": request.POST.get("description", "")},
        )
        return render(request, "warehouse/sqlpage/page.html", context, status=400)
    return redirect(f"{reverse('sql_page', args=[environment.warehouse_schema])}?saved={saved.pk}")


@require_POST
@sql_environment_view
def saved_query_update(request: HttpRequest, environment, saved_id: int) -> HttpResponse:
    """Save changes to an open saved query: its name, description and the editor's SQL."""
    saved = selectors.saved_query_get(environment=environment, saved_id=saved_id)
    if saved is None:
        raise Http404("no such saved query in this environment")
    try:
        services.saved_query_update(
            saved=saved,
            user=request.user,
            is_admin=request.environment_access.can(Permission.ADMIN),
            name=request.POST.get("name", ""),
            description=request.POST.get("description", ""),
            sql=_submitted_sql(request),
        )
    except ValidationError as error:
        saved.refresh_from_db()
        form = {"name": request.POST.get("name", ""), "description": request.POST.get("description", "")}
        context = _page_context(
            request,
            environment,
            saved=saved,
            initial_sql=_submitted_sql(request),
            update_errors=_field_errors(error),
            update_form=form,
        )
        # A field that needs changing is a 400; not being allowed to change it at all, a 403.
        return render(
            request, "warehouse/sqlpage/page.html", context, status=400 if hasattr(error, "error_dict") else 403
        )
    messages.success(request, f"Saved changes to {saved.name!r}.")
    return redirect(f"{reverse('sql_page', args=[environment.warehouse_schema])}?saved={saved.pk}")


@require_POST
@sql_environment_view
def saved_query_delete(request: HttpRequest, environment, saved_id: int) -> HttpResponse:
    saved = selectors.saved_query_get(environment=environment, saved_id=saved_id)
    if saved is not None:
        try:
            services.saved_query_delete(
                saved=saved, user=request.user, is_admin=request.environment_access.can(Permission.ADMIN)
            )
        except ValidationError as error:
            context = _page_context(request, environment, saved=saved, initial_sql=saved.sql)
            context["update_errors"] = _field_errors(error)
            return render(request, "warehouse/sqlpage/page.html", context, status=403)
    return redirect("sql_page", environment.warehouse_schema)
