"""Plans the demo's visitors, sessions and events, then streams them as COPY text in time order.

Two phases, so memory stays proportional to sessions rather than to rendered rows:
1. plan: users one at a time, each with their sessions in their own time order (identity state —
   anonymous, signed up, logged in on a new device — depends on what they did before); every
   session keeps its events as compact arrays of (time, template, per-visit part) numbers.
2. emit: sessions sorted by start; a heap merges their events into one time-ordered stream, so
   raw_events ids grow with time as they would from live capture.
Everything random comes from one random.Random(seed): the same seed and end time give the same rows.
"""

import functools
import heapq
import json
import random
from dataclasses import dataclass

from . import people
from .site import PLANS, blog_posts, build_site
from .state import (
    APP_VERSION,
    DAY_MS,
    HOUR_WEIGHTS,
    WINDOW_DAYS,
    Picker,
    Plan,
)
from .templates import TemplateBook, TimeFormatter
from .visitors import Visitors
from .walk import SiteWalker


@dataclass(frozen=True)
class _Site:
    pages: dict
    models: dict
    book: TemplateBook
    fmt: TimeFormatter


@functools.cache
def _site() -> _Site:
    """The site as numbers, built once per process: rendering ~3,400 hierarchies is most of a small seed's time."""
    builder = SiteWalker()
    builder.book = TemplateBook()
    pages = build_site()
    models = {key: builder._model(page) for key, page in pages.items()}
    return _Site(pages=pages, models=models, book=builder.book, fmt=TimeFormatter())


class DemoGenerator(Visitors, SiteWalker):
    """Plans `events` events; one of `slices` independent groups of users when a large seed is planned a
    slice at a time (services.demo_seed): each slice draws its ids from its own residue class, shares the
    identities already taken, and only slice 0 has the power users (sized from `all_events`)."""

    def __init__(
        self,
        *,
        environment_id: int,
        events: int,
        seed: int,
        end_ms: int,
        slice_index: int = 0,
        slices: int = 1,
        all_events: int | None = None,
        used_identities: set[str] | None = None,
    ) -> None:
        self.environment_id = environment_id
        self.target = events
        self.seed = seed
        self.end_ms = end_ms
        self.start_ms = end_ms - WINDOW_DAYS * DAY_MS
        self.slice_index, self.slices = slice_index, slices
        self.all_events = events if all_events is None else all_events
        # One slice: the same rows for the same seed as before slices existed.
        self.rng = random.Random(seed if slices == 1 else f"{seed}/{slice_index}/{slices}")
        site = _site()
        self.book = site.book.copy()
        self.fmt = site.fmt
        self.pages = site.pages
        self.models = site.models
        self.posts = [f"post:{slug}" for slug, _ in blog_posts()]
        # Older posts get less traffic: a long tail.
        self.post_picker = Picker(self.posts, [1 / (1 + i * 0.08) for i in range(len(self.posts))])
        self.docs = [key for key in self.pages if key.startswith("docs:")]
        self.device_picker = Picker(people.DEVICES, [d[0] for d in people.DEVICES])
        self.place_picker = Picker(people.PLACES, [p[0] for p in people.PLACES])
        self.hour_picker = Picker(list(range(24)), HOUR_WEIGHTS)
        self.day_picker = Picker(list(range(WINDOW_DAYS)), [self._day_weight(d) for d in range(WINDOW_DAYS)])
        self.used_ids: set[int] = set()
        self.used_identities: set[str] = set() if used_identities is None else used_identities
        self.order_seq = slice_index * 10_000_000  # order ids stay unique over the slices
        self._source_pickers: dict[int, Picker] = {}
        self._app_properties = {
            plan: json.dumps({"app_version": APP_VERSION, "plan": plan}, separators=(",", ":"))
            for plan in ["free", *(p for p, _, _ in PLANS)]
        }
        self.plan = Plan()

    # ---- emitting

    def row_chunks(self, rows_per_chunk: int = 50_000):
        """Yield (COPY text, row count) chunks of (n, user, session, time, template, part) in time order."""
        sessions = sorted(self.plan.sessions, key=lambda s: (s.start, s.session_id))
        pending: list = []
        buffer: list[str] = []
        number = 0
        push, pop = heapq.heappush, heapq.heappop

        def flush_until(limit: int):
            nonlocal number
            while pending and pending[0][0] <= limit:
                t, _, uid, sid, template, part = pop(pending)
                number += 1
                buffer.append(f"{number}\t{uid}\t{sid}\t{t}\t{template}\t{part}\n")

        order = 0
        for session in sessions:
            flush_until(session.start - 1)
            if len(buffer) >= rows_per_chunk:
                yield "".join(buffer), len(buffer)
                buffer.clear()
            uid, sid = session.user_id, session.session_id
            switch = session.switch_at if session.identified_id else len(session.times)
            for i, (t, template, part) in enumerate(zip(session.times, session.templates, session.parts, strict=True)):
                order += 1
                push(pending, (t, order, uid if i < switch else session.identified_id, sid, template, part))
        flush_until(2**62)
        if buffer:
            yield "".join(buffer), len(buffer)
