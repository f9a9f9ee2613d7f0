from django.core.management.base import BaseCommand, CommandError

from heapsite.progress import progress
from warehouse.models import Environment
from warehouse.privacy.services import retention_run


class Command(BaseCommand):
    help = "Run an environment's retention now, in the foreground: delete raw events older than its retention."

    def add_arguments(self, parser):
        parser.add_argument("schema", help="warehouse schema of the environment, e.g. main_production")

    def handle(self, *args, schema, **options):
        try:
            environment = Environment.objects.get(warehouse_schema=schema)
        except Environment.DoesNotExist:
            raise CommandError(f"no environment with warehouse schema {schema!r}") from None
        if not environment.retention_days:
            raise CommandError(f"{schema} keeps raw events forever (set its retention on the environment's page)")
        with progress(None, f"retention {schema}", stream=self.stderr._out) as bar:
            run = retention_run(
                environment_id=environment.pk,
                on_batch=lambda run: bar.advance(run.events_deleted + run.sessions_deleted - bar.done),
            )
        self.stdout.write(
            f"retention of {schema}: {run.events_deleted:,} events and {run.sessions_deleted:,} sessions older than "
            f"{run.cutoff:%Y-%m-%d %H:%M} UTC deleted in {run.batches} batches; the warehouse follows at the next sync"
        )
