from django.core.management.base import BaseCommand, CommandError

from warehouse.models import Environment
from warehouse.sources.services import SourceError, schema_attach, schema_detach


class Command(BaseCommand):
    help = "Attach (or --detach) a schema of this database to an environment's SQL access."

    def add_arguments(self, parser):
        parser.add_argument("environment", help="warehouse schema of the environment, e.g. main_production")
        parser.add_argument("schema")
        parser.add_argument("--detach", action="store_true")

    def handle(self, *args, **options):
        try:
            environment = Environment.objects.get(warehouse_schema=options["environment"])
        except Environment.DoesNotExist:
            raise CommandError(f"no environment {options['environment']!r}") from None
        action = schema_detach if options["detach"] else schema_attach
        try:
            action(environment=environment, schema_name=options["schema"], user=None)
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{'detached' if options['detach'] else 'attached'} {options['schema']}")
