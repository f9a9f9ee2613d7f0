"""A test EventTableSpec provider whose specs live in a JSON file, so worker subprocesses see them too."""

import json
import os
from pathlib import Path

from psycopg2 import sql

from warehouse.registry import EventTableSpec, register_event_table_provider

SPECS_FILE_ENV = "HEAPSITE_TEST_SYNC_SPECS"


def _specs_file() -> Path | None:
    path = os.environ.get(SPECS_FILE_ENV)
    return Path(path) if path else None


def set_specs(environment_id: int, specs: list[dict]) -> None:
    path = _specs_file()
    data = json.loads(path.read_text()) if path.exists() else {}
    data[str(environment_id)] = specs
    path.write_text(json.dumps(data))


def provide(environment_id: int) -> list[EventTableSpec]:
    path = _specs_file()
    if path is None or not path.exists():
        return []
    specs = json.loads(path.read_text()).get(str(environment_id), [])
    return [
        EventTableSpec(
            key=spec["key"],
            table_name=spec["table_name"],
            predicate=sql.SQL(spec["predicate"]),
            params=spec.get("params", {}),
            version=spec.get("version", "1"),
            label=spec.get("label", spec["table_name"]),
            event_types=tuple(spec.get("event_types", ())),
        )
        for spec in specs
    ]


register_event_table_provider(provide)
