import os

from django.core.management.base import BaseCommand, CommandError

from heapsite.progress import progress
from warehouse.models import Environment
from warehouse.sources.csvfile import CsvError
from warehouse.sources.services import SourceError, csv_load, csv_stage, default_table_name, uploads_schema_name


class Command(BaseCommand):
    help = "Load a CSV file as a table of an environment's uploads schema (readable by its SQL role)."

    def add_arguments(self, parser):
        parser.add_argument("environment", help="warehouse schema of the environment, e.g. main_production")
        parser.add_argument("file")
        parser.add_argument("--table", help="table name (default: from the file name)")
        parser.add_argument("--replace", action="store_true", help="replace the table if it exists")
        parser.add_argument("--delimiter", help="field delimiter (default: detected)")
        parser.add_argument(
            "--type", action="append", default=[], metavar="COLUMN=TYPE", help="override an inferred column type"
        )

    def handle(self, *args, **options):
        try:
            environment = Environment.objects.get(warehouse_schema=options["environment"])
        except Environment.DoesNotExist:
            raise CommandError(f"no environment {options['environment']!r}") from None
        overrides = {}
        for item in options["type"]:
            column, _, kind = item.partition("=")
            if not kind:
                raise CommandError(f"--type {item!r}: use COLUMN=TYPE")
            overrides[column] = kind
        path = options["file"]
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as fileobj, progress(size, f"reading {os.path.basename(path)}") as bar:
                upload = csv_stage(
                    environment=environment,
                    fileobj=fileobj,
                    filename=os.path.basename(path),
                    size=size,
                    delimiter=options["delimiter"],
                    on_progress=bar.advance,
                )
            upload = csv_load(
                upload=upload,
                table_name=options["table"] or default_table_name(path),
                column_types=overrides,
                replace=options["replace"],
            )
        except OSError as exc:
            raise CommandError(str(exc)) from None
        except (CsvError, SourceError) as exc:
            raise CommandError(f"{path}: {exc}") from None
        types = ", ".join(f"{column['name']} {column['type']}" for column in upload.columns)
        self.stdout.write(
            f"loaded {upload.row_count} rows into {uploads_schema_name(environment)}.{upload.table_name} ({types})"
        )
