"""Template side of warehouse/display.py: `{% load display %}`, then

{{ run.started_at|when }}      <time title="2026-12-07 06:02:42 UTC">5 minutes ago</time>
{{ event.time|exact }}         <time>2026-12-07 06:02:42 UTC</time>
{{ count|counted:"event" }}    1 event / 1,234 events
"""

from django import template
from django.utils.html import format_html

from warehouse.display import format_time, plural, relative_time

register = template.Library()


@register.filter
def when(value):
    """A relative time with the exact one (in the viewer's zone) on hover."""
    if not value:
        return ""
    return format_html(
        '<time datetime="{}" title="{}">{}</time>', value.isoformat(), format_time(value), relative_time(value)
    )


@register.filter
def exact(value, precision: str = "seconds"):
    """The exact time in the viewer's zone; `|exact:"minutes"` without the seconds."""
    if not value:
        return ""
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), format_time(value, seconds=precision != "minutes")
    )


@register.filter
def counted(value, noun: str) -> str:
    """`1 event`, `2 events`; an estimate (an object with .value and .approximate) reads `≈ 2,000 events`."""
    approximate = getattr(value, "approximate", False)
    try:
        number = int(getattr(value, "value", value))
    except (TypeError, ValueError):
        return ""
    return ("≈ " if approximate else "") + plural(number, noun)
