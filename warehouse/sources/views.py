from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from warehouse.access import Permission, access_environment
from warehouse.models import CsvUpload, CsvUploadStatus

from . import selectors, services
from .csvfile import CsvError
from .sql import COLUMN_TYPES, SAMPLE_ROWS


@require_GET
def sources_page(request, schema: str):
    environment = access_environment(request, schema, Permission.VIEW)
    context = {"environment": environment, **selectors.sources_overview(environment)}
    return render(request, "sources/index.html", context)


@require_POST
def attach(request, schema: str):
    environment = access_environment(request, schema, Permission.SUPERUSER)
    try:
        services.schema_attach(
            environment=environment, schema_name=request.POST.get("schema_name", ""), user=request.user
        )
    except services.SourceError as exc:
        messages.error(request, f"Not attached: {exc}")
    else:
        messages.success(request, f"Attached {request.POST['schema_name'].strip()}")
    return redirect("sources", schema=schema)


@require_POST
def detach(request, schema: str):
    environment = access_environment(request, schema, Permission.SUPERUSER)
    try:
        services.schema_detach(
            environment=environment, schema_name=request.POST.get("schema_name", ""), user=request.user
        )
    except services.SourceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Detached {request.POST['schema_name']}: the SQL role can no longer read it")
    return redirect("sources", schema=schema)


@require_POST
def upload_csv(request, schema: str):
    environment = access_environment(request, schema, Permission.EDIT)
    uploaded = request.FILES.get("file")
    if uploaded is None:
        messages.error(request, "Choose a CSV file to upload")
        return redirect("sources", schema=schema)
    try:
        upload = services.csv_stage(
            environment=environment,
            fileobj=uploaded.file,
            filename=uploaded.name,
            size=uploaded.size,
            delimiter=request.POST.get("delimiter") or None,
            user=request.user,
        )
    except CsvError as exc:
        messages.error(request, f"{uploaded.name}: {exc}")
        return redirect("sources", schema=schema)
    return redirect("csv_upload", schema=schema, upload_id=upload.pk)


def csv_upload(request, schema: str, upload_id: int):
    # Anyone who sees the environment sees a staged upload; loading or discarding it (POST) needs EDIT.
    environment = access_environment(request, schema)
    upload = get_object_or_404(CsvUpload, pk=upload_id, environment=environment)
    if request.method == "POST" and upload.status == CsvUploadStatus.STAGED:
        if "discard" in request.POST:
            services.csv_discard(upload=upload)
            messages.success(request, f"Discarded {upload.filename}")
            return redirect("sources", schema=schema)
        types = {
            column["name"]: request.POST.get(f"type_{column['name']}", column["inferred"]) for column in upload.columns
        }
        try:
            services.csv_load(
                upload=upload,
                table_name=request.POST.get("table_name", ""),
                column_types=types,
                replace=bool(request.POST.get("replace")),
                user=request.user,
            )
        except (CsvError, services.SourceError) as exc:
            messages.error(request, f"Not loaded: {exc}")
        else:
            messages.success(
                request,
                f"Loaded {upload.row_count} rows into {services.uploads_schema_name(environment)}.{upload.table_name}",
            )
            return redirect("sources", schema=schema)
    sample = selectors.staged_sample(upload) if upload.status == CsvUploadStatus.STAGED else []
    return render(
        request,
        "sources/upload.html",
        {
            "environment": environment,
            "upload": upload,
            "sample": sample,
            "column_types": COLUMN_TYPES,
            "sample_rows": SAMPLE_ROWS,
            "default_table": upload.table_name or services.default_table_name(upload.filename),
            "uploads_schema": services.uploads_schema_name(environment),
        },
    )


@require_POST
def drop_upload_table(request, schema: str):
    environment = access_environment(request, schema, Permission.EDIT)
    try:
        services.csv_table_drop(
            environment=environment, table_name=request.POST.get("table_name", ""), user=request.user
        )
    except services.SourceError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Dropped {request.POST['table_name']}")
    return redirect("sources", schema=schema)
