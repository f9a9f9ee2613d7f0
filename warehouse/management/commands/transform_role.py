"""Create or update an environment's models schema and transform role (for dbt) and print how to connect as it."""

from django.core.management.base import BaseCommand, CommandError

from warehouse.models import Environment
from warehouse.transform import models_schema_name, transform_connection_info, transform_role_drop


class Command(BaseCommand):
    help = (
        "Ensure the transform role of an environment (by warehouse schema): it reads the warehouse and writes "
        "only in <schema>_models, which the SQL page can read. Prints its connection settings (docs/warehouse.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("schema", help="the environment's warehouse schema, e.g. main_production")
        parser.add_argument("--show-password", action="store_true", help="print the generated password too")
        parser.add_argument("--drop", action="store_true", help="drop the role and the models schema with its tables")

    def handle(self, *args, schema: str, show_password: bool, drop: bool, **options):
        try:
            environment = Environment.objects.get(warehouse_schema=schema)
        except Environment.DoesNotExist:
            raise CommandError(f"no environment with warehouse schema {schema!r}") from None
        if drop:
            transform_role_drop(environment)
            self.stdout.write(f"dropped the transform role and schema {models_schema_name(environment)}")
            return
        for name, value in transform_connection_info(environment=environment, show_password=show_password).items():
            self.stdout.write(f"{name}: {value}")
