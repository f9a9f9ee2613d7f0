from typing import Any

from psycopg2 import sql


class Params:
    """Named query parameters with names unique to one compiled predicate (prefix + counter)."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.values: dict[str, Any] = {}
        self._names: dict[tuple[type, Any], str] = {}

    def add(self, value: Any) -> sql.Placeholder:
        # Identical values share one placeholder, which keeps big selector lists readable.
        key = (type(value), tuple(value) if isinstance(value, list) else value)
        name = self._names.get(key)
        if name is None:
            name = f"{self.prefix}{len(self.values)}"
            self._names[key] = name
            self.values[name] = value
        return sql.Placeholder(name)
