from django.apps import AppConfig


class WarehouseConfig(AppConfig):
    name = "warehouse"
    verbose_name = "Warehouse"

    def ready(self) -> None:
        from warehouse import preferences  # noqa: F401 - connects its login signal
        from warehouse.registry import register_table_change_listener
        from warehouse.services import table_change_record

        register_table_change_listener(table_change_record)
