from django.apps import AppConfig


class DefinitionsConfig(AppConfig):
    name = "definitions"
    verbose_name = "Event definitions"

    def ready(self) -> None:
        # Imported here: the registry is filled once apps are loaded (like admin autodiscovery).
        from warehouse.registry import register_event_table_provider

        from .selectors import definition_event_tables

        register_event_table_provider(definition_event_tables)
