from django.core.management.base import BaseCommand, CommandError

from heapsite.progress import progress
from warehouse.models import Environment, SyncStatus
from warehouse.services import sync_run_foreground


class Command(BaseCommand):
    help = "Sync an environment's warehouse schema now, in the foreground, with a progress bar."

    def add_arguments(self, parser):
        parser.add_argument("schema", help="warehouse schema of the environment, e.g. main_production")
        parser.add_argument("--full", action="store_true", help="rebuild every table from all history")

    def handle(self, *args, schema, full, **options):
        try:
            environment = Environment.objects.get(warehouse_schema=schema)
        except Environment.DoesNotExist:
            raise CommandError(f"no environment with warehouse schema {schema!r}") from None
        with progress(None, f"sync {schema}", stream=self.stderr._out) as bar:

            def on_update(state):
                # The bar counts the run's steps; its label says which step and table, and rows so far.
                bar.total = state.total_steps
                bar.label = f"{state.step} {state.table} ({state.rows:,} rows)".replace("  ", " ")
                bar.advance(state.done_steps - bar.done)

            try:
                run = sync_run_foreground(environment=environment, full=full, on_update=on_update)
            except Exception as error:
                raise CommandError(f"sync failed: {error}") from error
        self.stdout.write(
            f"{run.kind} sync of {schema} {run.status} in {run.duration_seconds:.1f}s, {run.total_rows:,} rows"
        )
        for name, entry in sorted(run.tables.items()):
            self.stdout.write(f"  {name:<40} {entry.get('action', ''):<10} {entry.get('rows', 0):>12,} rows")
        if run.status == SyncStatus.PARTIAL:
            # Exit status 3: the other tables are synced; these kept their last version (see the sync page).
            raise CommandError(f"sync partial: {run.error}", returncode=3)
