"""Walking the demo site: one visit's page views, interactions, form submissions and tracked events."""

import json

from .site import Page
from .state import (
    PLAN_PRICES,
    PageModel,
    Picker,
    Session,
    User,
)


class SiteWalker:
    """Mixin of DemoGenerator: turns a visit into events appended to a Session."""

    def _model(self, page: Page) -> PageModel:
        book = self.book
        pageview = book.template(("pv", page.key), type="pageview", page=page)
        engage, engage_w, navigate, navigate_w = [], [], [], []
        targets: dict[str, list] = {}
        conversion = None
        button = None
        for index, interaction in enumerate(page.interactions):
            template = book.template(("ix", page.key, index), type=interaction.type, page=page, interaction=interaction)
            if interaction.type == "submit" and interaction.weight == 0:
                conversion = (button, template, interaction.goes_to, interaction.tracks)
            elif interaction.goes_to:
                navigate.append((template, interaction.goes_to))
                navigate_w.append(interaction.weight)
                targets.setdefault(interaction.goes_to.split(":")[0], []).append((template, interaction.goes_to))
            else:
                if interaction.type == "click" and interaction.target.get("attrs", {}).get("type") == "submit":
                    button = template
                    if interaction.weight <= 0.2:
                        continue  # only clicked on the way to submitting the form
                engage.append((template, interaction.tracks))
                engage_w.append(interaction.weight)
        return PageModel(page, pageview, Picker(engage, engage_w), Picker(navigate, navigate_w), targets, conversion)

    def _add(self, session: Session, t: int, template: int, part: int) -> bool:
        if t > self.end_ms:
            return False
        session.times.append(t)
        session.templates.append(template)
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
        if name == "Signed Up":  # the welcome page's heap.track("Signed Up", {plan})
            return {"plan": rng.choice(["starter", "pro", "pro", "pro", "enterprise"])}
        if name == "Board Created":  # the app's "New board" button
            return {"template": "blank"}
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
                template, tracks = model.engage(rng)
                t += 1500 + int(rng.expovariate(1 / 12000))
                if not self._add(session, t, template, part):
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
            template, goes_to = choice
            t += 2000 + int(rng.expovariate(1 / 20000))
            if not self._add(session, t, template, part):
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
        if name == "Order Completed":
            # Server-side: the backend tracks it once the payment went through.
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
