"""Plans the demo's visitors, sessions and events, then streams them as COPY text in time order.

Two phases, so memory stays proportional to sessions rather than to rendered rows:
1. plan: users one at a time, each with their sessions in their own time order (identity state —
   anonymous, signed up, logged in on a new device — depends on what they did before); every
   session keeps its events as compact arrays of (time, template, per-visit part) numbers.
2. emit: sessions sorted by start; a heap merges their events into one time-ordered stream, so
   raw_events ids grow with time as they would from live capture.
Everything random comes from one random.Random(seed): the same seed and end time give the same rows.
"""

import heapq
import json
import random
from array import array
from bisect import bisect
from dataclasses import dataclass, field
from itertools import accumulate

from warehouse.identity import ANONYMOUS_ID_LIMIT, user_id_for_identity

from . import people
from .site import PLANS, Page, blog_posts, build_site
from .templates import NULL, TemplateBook, TimeFormatter, copy_json, copy_text

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


class DemoGenerator:
    def __init__(self, *, environment_id: int, events: int, seed: int, end_ms: int) -> None:
        self.environment_id = environment_id
        self.target = events
        self.seed = seed
        self.end_ms = end_ms
        self.start_ms = end_ms - WINDOW_DAYS * DAY_MS
        self.rng = random.Random(seed)
        self.book = TemplateBook()
        self.fmt = TimeFormatter()
        self.pages = build_site()
        self.models = {key: self._model(page) for key, page in self.pages.items()}
        self.posts = [f"post:{slug}" for slug, _ in blog_posts()]
        # Older posts get less traffic: a long tail.
        self.post_picker = Picker(self.posts, [1 / (1 + i * 0.08) for i in range(len(self.posts))])
        self.docs = [key for key in self.pages if key.startswith("docs:")]
        self.device_picker = Picker(people.DEVICES, [d[0] for d in people.DEVICES])
        self.place_picker = Picker(people.PLACES, [p[0] for p in people.PLACES])
        self.hour_picker = Picker(list(range(24)), HOUR_WEIGHTS)
        self.day_picker = Picker(list(range(WINDOW_DAYS)), [self._day_weight(d) for d in range(WINDOW_DAYS)])
        self.used_ids: set[int] = set()
        self.used_identities: set[str] = set()
        self.order_seq = 0
        self._source_pickers: dict[int, Picker] = {}
        self._app_properties = {
            plan: json.dumps({"app_version": APP_VERSION, "plan": plan}, separators=(",", ":"))
            for plan in ["free", *(p for p, _, _ in PLANS)]
        }
        self.plan = Plan()

    # ---- the site as numbers

    def _model(self, page: Page) -> PageModel:
        book = self.book
        pageview = book.template(("pv", page.key), type="pageview", page=page)
        engage, engage_w, navigate, navigate_w = [], [], [], []
        targets: dict[str, list] = {}
        conversion = None
        button = None
        for index, interaction in enumerate(page.interactions):
            tail = book.template(("ix", page.key, index), type=interaction.type, page=page, interaction=interaction)
            if interaction.type == "submit" and interaction.weight == 0:
                conversion = (button, tail, interaction.goes_to, interaction.tracks)
            elif interaction.goes_to:
                navigate.append((tail, interaction.goes_to))
                navigate_w.append(interaction.weight)
                targets.setdefault(interaction.goes_to.split(":")[0], []).append((tail, interaction.goes_to))
            else:
                if interaction.type == "click" and interaction.target.get("attrs", {}).get("type") == "submit":
                    button = tail
                    if interaction.weight <= 0.2:
                        continue  # only clicked on the way to submitting the form
                engage.append((tail, interaction.tracks))
                engage_w.append(interaction.weight)
        return PageModel(page, pageview, Picker(engage, engage_w), Picker(navigate, navigate_w), targets, conversion)

    def _day_weight(self, day: int) -> float:
        weekday = (self.start_ms // DAY_MS + day + 3) % 7  # 1970-01-01 was a Thursday
        # Returning visitors pile up towards the end of the window; first visits lean early to even it out.
        weight = WEEKDAY_WEIGHTS[weekday] * (1.6 - 1.0 * day / WINDOW_DAYS)
        if day == WINDOW_DAYS - 23:
            weight *= 2.4  # a Hacker News front page
        if day == WINDOW_DAYS - 41:
            weight *= 1.8  # the Product Hunt launch
        return weight

    def _day_of(self, t: int) -> int:
        """Calendar day (UTC) of t, counted from the window's first day."""
        return t // DAY_MS - self.start_ms // DAY_MS

    def _time_on_day(self, day: int, *, wrap: bool = True) -> int:
        """A time of day following the daily rhythm. The window's first and last days are partial:
        with wrap, a time outside the window is folded back into it; without, it is returned as is."""
        rng = self.rng
        base = (self.start_ms // DAY_MS + day) * DAY_MS
        t = base + self.hour_picker(rng) * 3_600_000 + int(rng.random() * 3_600_000)
        if wrap and (t < self.start_ms or t > self.end_ms):
            t = self.start_ms + (t - self.start_ms) % (self.end_ms - self.start_ms)
        return t

    def _next_visit(self, start: int) -> int:
        """When a returning visitor comes back: a day or more later, at a usual hour (maybe after the window)."""
        gap_days = 1 + int(self.rng.expovariate(1 / 4))
        return self._time_on_day(self._day_of(start) + gap_days, wrap=False)

    def _new_id(self, limit: int = ANONYMOUS_ID_LIMIT) -> int:
        while True:
            value = self.rng.randrange(1, limit)
            if value not in self.used_ids:
                self.used_ids.add(value)
                return value

    # ---- people

    def _new_user(self) -> User:
        rng = self.rng
        place = self.place_picker(rng)
        return User(
            anonymous_id=self._new_id(),
            device=self.device_picker(rng),
            place=place,
            ip=place[4] + str(rng.randrange(1, 255)),
            prospect=rng.random() < 0.3,
        )

    def _identify(self, user: User, *, at: int, identity: str | None = None, method: str = "email") -> None:
        rng = self.rng
        if identity is None:
            first, last = rng.choice(people.FIRST_NAMES), rng.choice(people.LAST_NAMES)
            company, domain = rng.choice(people.COMPANIES)
            identity = f"{first}.{last}@{domain}"
            suffix = 2
            while identity in self.used_identities:
                identity = f"{first}.{last}{suffix}@{domain}"
                suffix += 1
            name = f"{first.title()} {last.title()}"
        else:
            company = identity.split("@")[1].split(".")[0].title()
            name = identity.split("@")[0].replace(".", " ").title()
        self.used_identities.add(identity)
        user.identity = identity
        user.identified_id = user_id_for_identity(identity)
        user.identified_at = at
        user.properties = {
            "email": identity,
            "name": name,
            "company": company,
            "role": rng.choice(people.ROLES),
            "company_size": rng.choice(people.COMPANY_SIZES),
            "plan": user.plan,
            "signup_method": method,
        }
        user.properties_at = at

    # ---- walking the site

    def _add(self, session: Session, t: int, tail: int, part: int) -> bool:
        if t > self.end_ms:
            return False
        session.times.append(t)
        session.templates.append(tail)
        session.parts.append(part)
        return True

    def _custom(self, name: str, page: Page | None, library: str) -> int:
        return self.book.template(
            ("custom", name, page.key if page else None, library),
            type="custom",
            event_name=name,
            page=page if library == "web" else None,
            library=library,
        )

    def _custom_properties(self, name: str, user: User, page: Page) -> dict:
        rng = self.rng
        if name == "Signed Up":
            return {"method": rng.choice(["email", "email", "google"]), "plan": "free"}
        if name == "Newsletter Subscribed":
            return {"form": "post" if page.key.startswith("post:") else "footer"}
        if name == "Campaign Created":
            return {"template": rng.choice(["newsletter", "announcement", "product-update", "blank"])}
        if name == "Teammate Invited":
            return {"role": rng.choice(["editor", "editor", "admin", "viewer"])}
        if name == "Campaign Sent":
            return {
                "campaign_id": int(page.path.rsplit("/", 1)[1]),
                "recipients": int(rng.lognormvariate(7, 1.3)),
                "ab_test": rng.random() < 0.3,
            }
        if name == "Order Completed":
            self.order_seq += 1
            plan = page.query.split("=")[1]
            price = PLAN_PRICES[plan]
            annual = rng.random() < 0.35
            coupon = rng.choice(["", "", "", "", "LAUNCH20", "NONPROFIT"])
            amount = (
                round(price * 10 * (0.8 if coupon else 1.0), 2)
                if annual
                else round(price * (0.8 if coupon else 1.0), 2)
            )
            return {
                "order_id": f"ord_{self.seed}_{self.order_seq:06d}",
                "plan": plan,
                "amount": amount,
                "currency": "USD",
                "billing": "annual" if annual else "monthly",
                "coupon": coupon,
                "first_order": user.plan == "free",
            }
        return {}

    def _walk(
        self,
        user: User,
        session: Session,
        start_key: str,
        t: int,
        *,
        query: str,
        referrer: str,
        intent: str | None,
        max_pages: int = 12,
    ) -> int:
        """Append a visit's events to the session; return the time of the last one."""
        rng, book = self.rng, self.book
        key = start_key
        last = t
        converted = False
        for _ in range(max_pages):
            model = self.models[key]
            page = model.page
            # addEventProperties() in the app: every app event carries the version and plan.
            props = self._app_properties[user.plan] if page.app else "{}"
            part = book.part(query or page.query, referrer, props)
            if not self._add(session, t, model.pageview, part):
                return last
            last = t
            # Engagement: a few non-navigating interactions, each some seconds apart.
            count = int(rng.expovariate(1 / model.page.engagement)) if model.engage else 0
            for _ in range(min(count, 8)):
                tail, tracks = model.engage(rng)
                t += 1500 + int(rng.expovariate(1 / 12000))
                if not self._add(session, t, tail, part):
                    return last
                last = t
                if tracks:
                    last = t = self._track(user, session, t + 80 + rng.randrange(400), tracks, page, part)
            here = page.url + (query or page.query)
            # Conversion forms (signup, checkout, login).
            if model.conversion and not converted and self._converts(user, page, intent):
                button, submit, goes_to, tracks = model.conversion
                t += 2000 + int(rng.expovariate(1 / 8000))
                if button is not None and not self._add(session, t, button, part):
                    return last
                t += 5 + rng.randrange(30)
                if not self._add(session, t, submit, part):
                    return last
                last = t
                if page.key == "login" and user.identity:
                    self._switch_identity(user, session, t)
                if tracks:
                    last = t = self._track(user, session, t + 120 + rng.randrange(300), tracks, page, part)
                converted = True
                referrer, query, key = here, "", goes_to
                t += 300 + rng.randrange(1200)
                continue
            if rng.random() < page.exit_rate or not model.navigate:
                return last
            choice = None
            if intent:
                wanted = model.targets.get(intent) or (model.targets.get("pricing") if intent == "checkout" else None)
                if wanted and rng.random() < 0.7:
                    choice = rng.choice(wanted)
            if choice is None:
                choice = model.navigate(rng)
            tail, goes_to = choice
            t += 2000 + int(rng.expovariate(1 / 20000))
            if not self._add(session, t, tail, part):
                return last
            last = t
            if goes_to.startswith("docs:") and goes_to not in self.models:
                goes_to = "docs:getting-started/introduction"
            referrer, query, key = here, "", goes_to
            t += 200 + rng.randrange(1300)
        return last

    def _converts(self, user: User, page: Page, intent: str | None) -> bool:
        rng = self.rng
        if page.key == "login":
            return user.identity is not None and rng.random() < 0.92
        if page.key == "signup":
            if user.identity or not user.can_sign_up:
                return False
            return rng.random() < (0.8 if intent == "signup" else 0.12)
        if page.key.startswith("checkout:"):
            return user.identity is not None and rng.random() < (0.75 if intent == "checkout" else 0.1)
        return rng.random() < 0.5  # onboarding and app forms

    def _switch_identity(self, user: User, session: Session, t: int) -> None:
        if session.identified_id or session.user_id == user.identified_id:
            return
        session.identified_id = user.identified_id
        session.switch_at = len(session.times) - 1
        self.plan.merge_lines.append(f"{self.environment_id}\t{session.user_id}\t{user.identified_id}\t{self.fmt(t)}\n")

    def _track(self, user: User, session: Session, t: int, name: str, page: Page, part: int) -> int:
        rng = self.rng
        if name == "Signed Up" and not user.identity:
            self._identify(user, at=t, method="email")
            # identify() runs before track(): the Signed Up event already carries the identified id.
            self._add(session, t, self._custom("Signed Up", page, "web"), self._props_part(user, name, page))
            session.identified_id = user.identified_id
            session.switch_at = len(session.times) - 1
            self.plan.merge_lines.append(
                f"{self.environment_id}\t{session.user_id}\t{user.identified_id}\t{self.fmt(t)}\n"
            )
            return t
        if name in ("Order Completed", "Campaign Sent"):
            # Server-side: the backend tracks these once the payment/send went through.
            props = self._props_part(user, name, page)
            if name == "Order Completed":
                user.plan = page.query.split("=")[1]
                if user.identity:
                    user.properties["plan"] = user.plan
                    user.properties_at = t
            t += 400 + rng.randrange(2500)
            self._add(session, t, self._custom(name, None, "server"), props)
            return t
        self._add(session, t, self._custom(name, page, "web"), self._props_part(user, name, page))
        return t

    def _props_part(self, user: User, name: str, page: Page) -> int:
        return self.book.part("", "", json.dumps(self._custom_properties(name, user, page), separators=(",", ":")))

    # ---- sessions

    def _source_picker(self, day: int) -> Picker:
        picker = self._source_pickers.get(day)
        if picker is None:
            weights = []
            for weight, name, *_ in people.SOURCES:
                if name == "hacker_news" and day == WINDOW_DAYS - 23:
                    weight *= 40
                elif name == "producthunt" and day == WINDOW_DAYS - 41:
                    weight *= 30
                elif name == "newsletter" and (self.start_ms // DAY_MS + day + 3) % 7 == 1:
                    weight *= 4  # the weekly digest goes out on Tuesdays
                weights.append(weight)
            picker = self._source_pickers[day] = Picker(people.SOURCES, weights)
        return picker

    def _marketing_start(self, day: int) -> tuple:
        """(source, landing key, query, referrer, keyword, utm)"""
        rng = self.rng
        _, name, referrer, keywords, utm, landings = self._source_picker(day)(rng)
        kind = rng.choice(landings)
        if kind == "post":
            landing = self.post_picker(rng)
        elif kind == "docs":
            landing = rng.choice(self.docs)
        else:
            landing = kind
        keyword = rng.choice(keywords) if keywords else ""
        query = ""
        if utm:
            pairs = [("utm_source", utm[0]), ("utm_medium", utm[1]), ("utm_campaign", utm[2])]
            if utm[3]:
                pairs.append(("utm_term", utm[3].replace(" ", "+")))
            if utm[4]:
                pairs.append(("utm_content", utm[4]))
            if utm[1] == "cpc":
                pairs.append(("gclid", f"Cj0KCQ{rng.getrandbits(40):010x}"))
            query = "?" + "&".join(f"{k}={v}" for k, v in pairs)
        return name, landing, query, referrer, keyword, utm or ("", "", "", "", "")

    def _session(
        self,
        user: User,
        start: int,
        *,
        anonymous_id: int | None = None,
        kind: str = "marketing",
        intent: str | None = None,
        max_events: int | None = None,
    ) -> Session | None:
        rng = self.rng
        # Same device after identifying: the snippet remembers the identity.
        uid = anonymous_id or (user.identified_id if user.identity else user.anonymous_id)
        session = Session(start=start, session_id=self._new_id(), user_id=uid)
        day = self._day_of(start)
        referrer = keyword = query = ""
        utm = ("", "", "", "", "")
        if kind == "app":
            landing = "app:dashboard" if rng.random() < 0.7 else rng.choice(["app:campaigns", "app:campaign-new"])
        elif kind == "login":
            landing = "login"
        elif kind == "purchase":
            landing = "app:billing"
            uid = session.user_id = user.identified_id
        else:
            _, landing, query, referrer, keyword, utm = self._marketing_start(day)
        self._walk(user, session, landing, start, query=query, referrer=referrer, intent=intent)
        if max_events is not None:
            for column in (session.times, session.templates, session.parts):
                del column[max_events:]
        if not session.times:
            self.used_ids.discard(session.session_id)
            return None
        last = max(session.times)
        page = self.pages[landing]
        browser, platform, device = user.device[1], user.device[2], user.device[3]
        place = user.place
        fields = [
            str(self.environment_id),
            str(session.session_id),
            str(session.user_id),
            self.fmt(start),
            self.fmt(last),
            self.fmt(last),
            "web",
            platform,
            device,
            browser,
            place[1],
            place[2],
            place[3],
            user.ip,
            copy_text(referrer),
            copy_text(page.url),
            copy_text(query or page.query),
            "",
            copy_text(keyword),
            *(copy_text(value) for value in utm),
            "{}",
        ]
        self.plan.session_lines.append("\t".join(fields) + "\n")
        self.plan.sessions.append(session)
        self.plan.events += len(session.times)
        return session

    def _server_session(self, user: User, start: int, events: list[tuple[str, dict]]) -> None:
        session = Session(start=start, session_id=self._new_id(), user_id=user.identified_id)
        t = start
        for name, props in events:
            if not self._add(
                session,
                t,
                self._custom(name, None, "server"),
                self.book.part("", "", json.dumps(props, separators=(",", ":"))),
            ):
                break
            t += 40 + self.rng.randrange(200)
        if not session.times:
            return
        empty = [""] * 4
        fields = [
            str(self.environment_id),
            str(session.session_id),
            str(session.user_id),
            self.fmt(start),
            self.fmt(session.times[-1]),
            self.fmt(session.times[-1]),
            "server",
            *empty[:3],
            *empty[:3],
            NULL,
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "{}",
        ]
        self.plan.session_lines.append("\t".join(fields) + "\n")
        self.plan.sessions.append(session)
        self.plan.events += len(session.times)

    def _session_count(self) -> int:
        roll = self.rng.random()
        if roll < 0.58:
            return 1
        if roll < 0.78:
            return 2
        if roll < 0.9:
            return self.rng.randint(3, 5)
        if roll < 0.97:
            return self.rng.randint(6, 15)
        return self.rng.randint(16, 40)

    def _plan_user(self) -> None:
        rng = self.rng
        user = self._new_user()
        day = self.day_picker(rng)
        start = self._time_on_day(day)
        user.first_seen = start
        existing_customer = rng.random() < 0.06
        if existing_customer:
            user.plan = rng.choice(["starter", "pro", "pro", "business"])
            self._identify(user, at=start, method=rng.choice(["email", "google"]))
        for index in range(self._session_count()):
            if start > self.end_ms:
                break
            if user.identity:
                if existing_customer and index == 0:
                    kind, intent = "login", None
                else:
                    roll = rng.random()
                    kind = (
                        "app" if roll < 0.65 else ("purchase" if roll < 0.72 and user.plan == "free" else "marketing")
                    )
                    intent = "checkout" if kind == "purchase" else None
                    if kind == "app" and rng.random() < 0.08:
                        # A second device: a new anonymous id that logs in (another identity merge).
                        device_id = self._new_id()
                        user.extra_devices.append((device_id, start))
                        self._session(user, start, anonymous_id=device_id, kind="login")
                        start = self._next_visit(start)
                        continue
            else:
                kind = "marketing"
                intent = "signup" if user.prospect and rng.random() < 0.45 else None
            if self.target - self.plan.events < 300:
                break  # leave the exact remainder to one-session visitors
            first_device = user.anonymous_id if existing_customer and index == 0 else None
            self._session(user, start, anonymous_id=first_device, kind=kind, intent=intent)
            start = self._next_visit(start)
        self._finish_user(user)

    def _finish_user(self, user: User) -> None:
        env = self.environment_id
        fmt = self.fmt
        self.plan.user_lines.append(
            f"{env}\t{user.anonymous_id}\t{NULL}\t{fmt(user.first_seen)}\t{fmt(user.first_seen)}\t{{}}\n"
        )
        for device_id, seen in user.extra_devices:
            self.plan.user_lines.append(f"{env}\t{device_id}\t{NULL}\t{fmt(seen)}\t{fmt(seen)}\t{{}}\n")
        if user.identity:
            if user.plan != "free":
                self._renewals(user)
            self.plan.user_lines.append(
                f"{env}\t{user.identified_id}\t{copy_text(user.identity)}\t{fmt(user.identified_at)}\t"
                f"{fmt(user.properties_at)}\t{copy_json(user.properties)}\n"
            )

    def _renewals(self, user: User) -> None:
        price = PLAN_PRICES[user.plan]
        t = user.identified_at + 30 * DAY_MS
        months = 1
        while t < self.end_ms and self.plan.events < self.target:
            props = {"plan": user.plan, "amount": price, "currency": "USD", "months": months}
            self._server_session(
                user, t, [("Subscription Renewed", props), ("Invoice Paid", {"amount": price, "currency": "USD"})]
            )
            t += 30 * DAY_MS
            months += 1

    def _plan_power_user(self, identity: str, share: float) -> None:
        rng = self.rng
        user = self._new_user()
        user.plan = "business"
        user.device = people.DEVICES[0]
        wanted = int(self.target * share)
        times = sorted(self._time_on_day(self.day_picker(rng)) for _ in range(max(1, wanted // 9)))
        user.first_seen = times[0]
        self._identify(user, at=times[0], identity=identity)
        got = 0
        for index, start in enumerate(times):
            first_device = user.anonymous_id if index == 0 else None
            session = self._session(user, start, anonymous_id=first_device, kind="login" if index == 0 else "app")
            got += len(session.times) if session else 0
            if got >= wanted:
                break
        self._finish_user(user)

    def _plan_visitor(self, remaining: int) -> None:
        """A one-session anonymous visitor, cut to at most `remaining` events (to hit the exact total)."""
        user = self._new_user()
        user.prospect = user.can_sign_up = False  # truncating a sign-up would orphan its identity merge
        start = self._time_on_day(self.day_picker(self.rng))
        user.first_seen = start
        self._session(user, start, max_events=remaining)
        self._finish_user(user)

    def build_plan(self) -> Plan:
        if self.target >= 20_000:
            for identity, share in POWER_USERS:
                self._plan_power_user(identity, share)
        while self.target - self.plan.events > 600:
            self._plan_user()
        while self.plan.events < self.target:
            self._plan_visitor(self.target - self.plan.events)
        return self.plan

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
