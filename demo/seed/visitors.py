"""Who visits the demo product and when: users, their sessions over the window, identity and renewals."""

import json

from warehouse.identity import ANONYMOUS_ID_LIMIT, user_id_for_identity

from . import people
from .state import (
    DAY_MS,
    PLAN_PRICES,
    POWER_USERS,
    WEEKDAY_WEIGHTS,
    WINDOW_DAYS,
    Picker,
    Plan,
    Session,
    User,
)
from .templates import NULL, copy_json, copy_text


class Visitors:
    """Mixin of DemoGenerator: plans users one at a time, each with their sessions in time order."""

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
        slices = self.slices
        while True:
            # Slice k's ids are k modulo the number of slices: no slice needs another's used ids.
            value = self.rng.randrange(1, limit) if slices == 1 else self.rng.randrange(1, limit // slices) * slices
            value += self.slice_index
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
            landing = "app:dashboard" if rng.random() < 0.7 else rng.choice(["app:board:1", "app:board:2"])
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
            user.plan = rng.choice(["starter", "pro", "pro", "enterprise"])
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
        user.plan = "enterprise"
        user.device = people.DEVICES[0]
        wanted = int(self.all_events * share)
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
        if self.all_events >= 20_000 and self.slice_index == 0:
            for identity, share in POWER_USERS:
                self._plan_power_user(identity, share)
        while self.target - self.plan.events > 600:
            self._plan_user()
        while self.plan.events < self.target:
            self._plan_visitor(self.target - self.plan.events)
        return self.plan
