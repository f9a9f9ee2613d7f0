"""Create or update an environment's SQL role and print how external tools (psql, Metabase, dbt) connect as it."""

from django.core.management.base import BaseCommand, CommandError

from warehouse.models import Environment
from warehouse.sqlpage.services import sql_role_connection_info


class Command(BaseCommand):
    help = "Ensure the SQL role of an environment (by warehouse schema) and print its connection settings."

    def add_arguments(self, parser):
        parser.add_argument("schema", help="the environment's warehouse schema, e.g. main_production")
        parser.add_argument("--show-password", action="store_true", help="print the generated password too")

    def handle(self, *args, schema: str, show_password: bool, **options):
        try:
            environment = Environment.objects.get(warehouse_schema=schema)
        except Environment.DoesNotExist:
            raise CommandError(f"no environment with warehouse schema {schema!r}") from None
        for name, value in sql_role_connection_info(environment=environment, show_password=show_password).items():
            self.stdout.write(f"{name}: {value}")
