"""Readable names for raw interactions: a short selector and the text people recognise."""

import re

# Utility-class frameworks (Tailwind and friends) produce classes that say how an element looks,
# not what it is; a readable selector skips them.
_UTILITY_RE = re.compile(
    r"^-?(p|px|py|pt|pb|pl|pr|m|mx|my|mt|mb|ml|mr|w|h|min|max|gap|space|text|font|leading|tracking|bg|from|to|via"
    r"|border|rounded|ring|shadow|opacity|z|top|left|right|bottom|inset|flex|grid|col|row|items|justify|self|place"
    r"|content|order|overflow|transition|duration|ease|sr|inline|block|hidden|relative|absolute|fixed|sticky|group"
    r"|peer|divide|fill|stroke|cursor|select|align|whitespace|truncate|underline|uppercase|lowercase|shrink|grow"
    r"|basis|aspect|object|container|antialiased|prose|backdrop|blur|animate|transform|scale|rotate|translate)"
    r"(-|$)"
)
_SAFE_IDENT_RE = re.compile(r"^-?[A-Za-z_][A-Za-z0-9_-]*$")
MAX_LABEL_TEXT = 60


def is_utility_class(name: str) -> bool:
    return ":" in name or "/" in name or "[" in name or bool(_UTILITY_RE.match(name))


def short_selector(tag: str, element_id: str, classes: list[str], *, max_classes: int = 2) -> str:
    """`a#hero-cta.btn.btn-primary`: tag, id when it is a plain identifier, a few meaningful classes."""
    selector = tag or "*"
    if element_id and _SAFE_IDENT_RE.match(element_id):
        return f"{selector}#{element_id}"
    meaningful = [c for c in classes if not is_utility_class(c) and _SAFE_IDENT_RE.match(c)]
    return selector + "".join(f".{c}" for c in meaningful[:max_classes])


def shorten(text: str, limit: int = MAX_LABEL_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def event_label(
    *, type: str, event_name: str, domain: str, path: str, tag: str, element_id: str, classes: list[str], text: str
) -> str:
    if type == "pageview":
        return f"{domain}{path}"
    if type == "custom":
        return event_name
    selector = short_selector(tag, element_id, classes)
    return f"“{shorten(text)}” {selector}" if text.strip() else selector


def hierarchy_lines(hierarchy: list[dict]) -> list[dict]:
    """One readable line per element, target first: `<a id="x" class="a b" href="/p">`."""
    lines = []
    for depth, element in enumerate(hierarchy):
        parts = [element.get("tag", "?")]
        if "id" in element:
            parts.append(f'id="{element["id"]}"')
        if element.get("classes"):
            parts.append(f'class="{" ".join(element["classes"])}"')
        for name, value in (element.get("attrs") or {}).items():
            parts.append(f'{name}="{value}"')
        for attribute in element.get("ns_attrs") or ():
            parts.append(f'{attribute.get("name", "?")}="{attribute.get("value", "")}"')
        lines.append(
            {
                "depth": depth,
                "markup": "<" + " ".join(parts) + ">",
                "ns": element.get("ns", ""),
                "truncated": bool(element.get("truncated")),
                "is_target": depth == 0,
            }
        )
    return lines
