"""Change an environment's switches from a script: `manage.py environment_set main_production keyless_server_api=true`."""

from django.core.management.base import BaseCommand, CommandError

from warehouse.models import Environment
from warehouse.services import ENVIRONMENT_SWITCHES, environment_settings_update

TRUE = ("true", "on", "yes", "1")
FALSE = ("false", "off", "no", "0")


def parse_assignment(text: str) -> tuple[str, bool]:
    name, equals, value = text.partition("=")
    if not equals:
        raise CommandError(f"expected name=value, got {text!r}")
    if name not in ENVIRONMENT_SWITCHES:
        raise CommandError(f"unknown setting {name!r}; known: {', '.join(ENVIRONMENT_SWITCHES)}")
    if value.lower() not in TRUE + FALSE:
        raise CommandError(f"{name} takes true or false, not {value!r}")
    return name, value.lower() in TRUE


class Command(BaseCommand):
    help = (
        "Set an environment's switches. keyless_server_api=true accepts Heap-style server events "
        "(/api/track, /api/identify, /api/add_user_properties) without the server key: anyone who knows "
        "the public app id can then write events, identities and user properties (docs/api.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("schema", help="the environment's warehouse schema, e.g. main_production")
        parser.add_argument("assignments", nargs="+", metavar="name=value", help="e.g. keyless_server_api=true")

    def handle(self, *args, schema: str, assignments: list[str], **options):
        changes = dict(parse_assignment(text) for text in assignments)
        try:
            environment = Environment.objects.get(warehouse_schema=schema)
        except Environment.DoesNotExist:
            raise CommandError(f"no environment with warehouse schema {schema!r}") from None
        environment_settings_update(environment=environment, **changes)
        for name, value in changes.items():
            self.stdout.write(f"{schema}: {name} = {'true' if value else 'false'}")
