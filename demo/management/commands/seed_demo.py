from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from demo.seed.services import DemoDataExists, demo_seed


def _aware_datetime(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("give a timezone, e.g. 2026-11-28T12:00:00+00:00")
    return parsed


class Command(BaseCommand):
    help = "Load a realistic demo product's raw data (events, sessions, users, identity merges) into an environment."

    def add_arguments(self, parser):
        parser.add_argument("--environment", default="main_production", help="warehouse schema; created if missing")
        parser.add_argument("--events", type=int, default=50_000, help="number of raw events (default 50000)")
        parser.add_argument("--seed", type=int, default=1, help="same seed (and --end) gives the same data")
        parser.add_argument(
            "--end",
            type=_aware_datetime,
            default=None,
            help="time of the newest event, ISO 8601 with timezone (default: now)",
        )
        parser.add_argument("--replace", action="store_true", help="delete the environment's raw data first")

    def handle(self, *args, **options):
        try:
            result = demo_seed(
                schema=options["environment"],
                events=options["events"],
                seed=options["seed"],
                end=options["end"],
                replace=options["replace"],
                stream=self.stderr._out,
            )
        except (DemoDataExists, ValidationError) as error:
            raise CommandError(str(error.messages[0] if isinstance(error, ValidationError) else error)) from None
        if result.created_environment:
            self.stdout.write(
                f"Created environment {result.environment.warehouse_schema} "
                f"(app id {result.environment.app_id}, server API key {result.api_key} — shown once)"
            )
        self.stdout.write(
            f"Loaded {result.events:,} events, {result.sessions:,} sessions, {result.users:,} users and "
            f"{result.merges:,} identity merges into {result.environment.warehouse_schema} in {result.seconds:.1f}s"
        )
