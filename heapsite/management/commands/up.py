import sys

from django.core.management.base import BaseCommand

from heapsite.launcher import up


class Command(BaseCommand):
    help = "Migrate, create the admin login and demo data on first run, then run web server, worker and scheduler."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--no-demo", dest="demo", action="store_false", help="do not load demo data")
        parser.add_argument("--demo-events", type=int, help="size of the demo data on first run (seed_demo --events)")

    def handle(self, *args, host, port, demo, demo_events, **options):
        # up runs until Ctrl+C: when its output goes to a pipe or a file (`make run | tee`, a service
        # manager) block buffering would hold back the admin password and keys until it stops.
        sys.stdout.reconfigure(line_buffering=True)
        sys.exit(up(host=host, port=port, demo=demo, demo_events=demo_events, out=self.stdout))
