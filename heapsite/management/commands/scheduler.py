from django.conf import settings
from django.core.management.base import BaseCommand

from heapsite.scheduler import scheduler_run


class Command(BaseCommand):
    help = "Run the periodic scheduler (incremental syncs) in the foreground until Ctrl+C / SIGTERM."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=None, help="seconds between ticks")
        parser.add_argument("--once", action="store_true", help="run one tick and exit")

    def handle(self, *args, interval, once, **options):
        scheduler_run(interval_seconds=interval or settings.SCHEDULER_TICK_SECONDS, once=once)
