"""Pre-rendered COPY text for the demo: everything about an event that does not vary per row.

Generating a million rows in Python is only fast when the per-row work is a few string joins, so
each page view, interaction and custom event is rendered once into the tail of a COPY line.
"""

import json
from datetime import UTC, datetime, timedelta

from .site import Interaction, Page, hierarchy_for

# The per-row COPY carries only numbers; INSERT ... SELECT joins them to the templates and the
# per-visit parts inside PostgreSQL, so the big jsonb hierarchies are parsed once per template.
ROW_COLUMNS = ["n", "user_id", "session_id", "time_ms", "template", "part"]
TEMPLATE_COLUMNS = [
    "template",
    "type",
    "event_name",
    "domain",
    "path",
    "hash",
    "title",
    "target_tag",
    "target_id",
    "target_classes",
    "target_text",
    "target_href",
    "hierarchy",
    "library",
]
PART_COLUMNS = ["part", "query", "referrer", "properties"]
SESSION_COLUMNS = [
    "environment_id",
    "session_id",
    "user_id",
    "time",
    "last_event_time",
    "last_modified",
    "library",
    "platform",
    "device_type",
    "browser",
    "country",
    "region",
    "city",
    "ip",
    "referrer",
    "landing_page",
    "landing_page_query",
    "landing_page_hash",
    "search_keyword",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "properties",
]
USER_COLUMNS = ["environment_id", "user_id", "identity", "joindate", "last_modified", "properties"]
MERGE_COLUMNS = ["environment_id", "from_user_id", "to_user_id", "time"]

NULL = "\\N"
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_text(value: str) -> str:
    """A value escaped for PostgreSQL's COPY text format."""
    return value.translate(_COPY_ESCAPES)


def copy_json(value) -> str:
    return copy_text(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def copy_array(values: list[str]) -> str:
    quoted = ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values)
    return copy_text("{" + ",".join(quoted) + "}")


def _template_line(
    index: int,
    *,
    type: str,
    event_name: str = "",
    page: Page | None = None,
    interaction: Interaction | None = None,
    library: str = "web",
) -> str:
    target = interaction.target if interaction else {}
    fields = [
        type,
        event_name,
        page.domain if page else "",
        page.path if page else "",
        "",
        page.title if page else "",
        target.get("tag", ""),
        target.get("id", ""),
    ]
    text = [str(index)] + [copy_text(value) for value in fields]
    text.append(copy_array(target.get("classes", [])))
    text.append(copy_text(interaction.text if interaction else ""))
    text.append(copy_text(interaction.href if interaction else ""))
    text.append(copy_json(hierarchy_for(page, interaction) if interaction and page else []))
    text.append(library)
    return "\t".join(text) + "\n"


class TemplateBook:
    """Numbered templates (what an event shares with every other of its kind) and interned per-visit parts."""

    def __init__(self) -> None:
        self.templates: list[str] = []
        self._template_index: dict = {}
        self.parts: list[str] = []
        self._part_index: dict = {}

    def copy(self) -> "TemplateBook":
        book = TemplateBook()
        book.templates, book._template_index = list(self.templates), dict(self._template_index)
        book.parts, book._part_index = list(self.parts), dict(self._part_index)
        return book

    def template(self, key, **kwargs) -> int:
        index = self._template_index.get(key)
        if index is None:
            index = self._template_index[key] = len(self.templates)
            self.templates.append(_template_line(index, **kwargs))
        return index

    def part(self, query: str, referrer: str, properties: str) -> int:
        key = (query, referrer, properties)
        index = self._part_index.get(key)
        if index is None:
            index = self._part_index[key] = len(self.parts)
            self.parts.append(f"{index}\t{copy_text(query)}\t{copy_text(referrer)}\t{copy_text(properties)}\n")
        return index


class TimeFormatter:
    """Milliseconds since the epoch -> COPY timestamptz text, without a datetime per row."""

    def __init__(self) -> None:
        self._hms = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]
        self._days: dict[int, str] = {}

    def __call__(self, ms: int) -> str:
        day, rest = divmod(ms, 86_400_000)
        day_text = self._days.get(day)
        if day_text is None:
            day_text = self._days[day] = (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(days=day)).strftime("%Y-%m-%d")
        return f"{day_text} {self._hms[rest // 1000]}.{rest % 1000:03d}+00"
