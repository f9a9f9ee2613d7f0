"""What the demo planner keeps: weighted pickers, the site as numbers, and planned users and sessions."""

import random
from array import array
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

from .site import PLANS, Page

DAY_MS = 86_400_000
WINDOW_DAYS = 60
HOUR_WEIGHTS = [2, 1.5, 1.2, 1, 1, 1.2, 1.8, 2.8, 4, 5, 5.5, 5.8, 6, 6.5, 7, 7.2, 7, 6.5, 5.8, 5, 4.2, 3.5, 3, 2.5]
WEEKDAY_WEIGHTS = [1.0, 1.08, 1.05, 1.0, 0.88, 0.5, 0.45]  # Monday first
APP_VERSION = "4.12.1"
PLAN_PRICES = {plan: price for plan, _, price in PLANS}
# Share of all events produced by a few heavy identified users (a shared team login, say): the
# raw browser's user timeline needs someone with thousands of events.
POWER_USERS = [("team@bigcorp.example", 0.01), ("ops@globex.example", 0.004), ("lena.kowalski@initech.example", 0.002)]


class Picker:
    """Weighted choice by bisecting cumulative weights (cheaper than random.choices per call)."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, items: list, weights: list[float]) -> None:
        self.items = items
        self.cum = list(accumulate(weights))
        self.total = self.cum[-1] if self.cum else 0.0

    def __call__(self, rng: random.Random):
        return self.items[bisect(self.cum, rng.random() * self.total)]

    def __bool__(self) -> bool:
        return bool(self.items) and self.total > 0


@dataclass
class PageModel:
    page: Page
    pageview: int
    engage: Picker  # non-navigating interactions: (template, tracks)
    navigate: Picker  # (template, goes_to)
    targets: dict[str, list[tuple[int, str]]]  # goes_to -> [(template, goes_to)]
    conversion: tuple | None  # (button template or None, submit template, goes_to, tracks)


@dataclass
class Session:
    start: int
    session_id: int
    user_id: int  # at session start
    identified_id: int = 0  # set when the user identifies during this session
    switch_at: int = 0  # index of the first event carrying identified_id
    times: array = field(default_factory=lambda: array("q"))
    templates: array = field(default_factory=lambda: array("I"))
    parts: array = field(default_factory=lambda: array("I"))


@dataclass
class User:
    anonymous_id: int
    device: tuple
    place: tuple
    ip: str
    first_seen: int = 0
    identity: str | None = None
    identified_id: int = 0
    identified_at: int = 0
    properties: dict = field(default_factory=dict)
    properties_at: int = 0
    plan: str = "free"
    prospect: bool = False
    can_sign_up: bool = True
    extra_devices: list = field(default_factory=list)  # (anonymous_id, first_seen)


@dataclass
class Plan:
    sessions: list[Session] = field(default_factory=list)
    session_lines: list[str] = field(default_factory=list)
    user_lines: list[str] = field(default_factory=list)
    merge_lines: list[str] = field(default_factory=list)
    events: int = 0
