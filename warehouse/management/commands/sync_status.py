import json

from django.core.management.base import BaseCommand, CommandError

from warehouse.health import environment_sync_health, health_report, processes_health
from warehouse.models import Environment


class Command(BaseCommand):
    help = (
        "Is every warehouse fresh? Prints the processes (PostgreSQL, Redis, scheduler, workers) and each "
        "environment's sync state; exits with status 1 when anything is wrong (for alerting)."
    )

    def add_arguments(self, parser):
        parser.add_argument("schemas", nargs="*", help="only these environments (warehouse schema names)")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="print the /healthz report (with names) as JSON"
        )

    def handle(self, *args, schemas, as_json: bool, **options):
        if as_json:
            report = health_report(names=None, details=True)
            self.stdout.write(json.dumps(report, indent=2))
            if not report["ok"]:
                raise CommandError("unhealthy", returncode=1)
            return
        processes = processes_health()
        problems = list(processes.problems)
        self.stdout.write(
            f"processes: {'ok' if processes.ok else 'PROBLEM'} (scheduler last ticked "
            f"{processes.scheduler_ticked_at or 'never'}, {processes.workers} sync worker(s))"
        )
        for problem in processes.problems:
            self.stdout.write(f"  {problem}")
        environments = Environment.objects.all()
        if schemas:
            environments = environments.filter(warehouse_schema__in=schemas)
            missing = set(schemas) - {environment.warehouse_schema for environment in environments}
            if missing:
                raise CommandError(f"no environment with warehouse schema {', '.join(sorted(missing))}")
        for environment in environments:
            health = environment_sync_health(environment=environment, processes=processes)
            if health.stalled:
                state = f"STALLED since {health.since:%Y-%m-%d %H:%M:%S %Z}: {health.reason}"
            else:
                state = "paused" if health.paused else "ok"
            self.stdout.write(f"{environment.warehouse_schema}: {state}")
            for failure in health.failing:
                self.stdout.write(
                    f"  table {failure['table']} FAILING since {failure['since']:%Y-%m-%d %H:%M:%S}: {failure['error']}"
                )
            if not health.ok:
                problems.append(environment.warehouse_schema)
        if problems:
            raise CommandError(f"{len(problems)} problem(s), see above", returncode=1)
