import json
import time

import pytest

from warehouse.models import IdentityMerge, RawEvent, RawSession, RawUser

SERVER_KEY = "test-server-key"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def now_ms() -> int:
    return int(time.time() * 1000)


def button_click(event_id: str = "e-click-1", at: int | None = None) -> dict:
    return {
        "id": event_id,
        "type": "click",
        "time": at or now_ms() - 1000,
        "domain": "shop.example",
        "path": "/pricing",
        "query": "?a=1",
        "hash": "#top",
        "title": "Pricing",
        "referrer": "https://www.google.com/",
        "target": {"tag": "button", "id": "cta", "classes": ["btn", "md:px-4"], "text": "Start trial", "href": ""},
        "hierarchy": [
            {
                "tag": "button",
                "id": "cta",
                "classes": ["btn", "md:px-4"],
                "attrs": {"type": "submit", "data-plan": "pro"},
            },
            {"tag": "form", "id": "signup", "attrs": {"method": "post"}},
            {"tag": "body"},
            {"tag": "html", "attrs": {"lang": "en"}},
        ],
        "properties": {"plan": "pro", "seats": 3},
    }


def pageview(event_id: str = "e-pv-1", at: int | None = None) -> dict:
    return {
        "id": event_id,
        "type": "pageview",
        "time": at or now_ms() - 2000,
        "domain": "shop.example",
        "path": "/pricing",
        "query": "?utm_source=x",
        "hash": "",
        "title": "Pricing",
        "referrer": "https://www.google.com/",
        "properties": {},
    }


@pytest.fixture
def batch(environment):
    """A valid /api/collect body; tests mutate it."""

    def make(*events: dict, user_id: int = 4503599627370495, identity: str | None = None) -> dict:
        sent = now_ms()
        return {
            "app_id": environment.app_id,
            "library": "web",
            "sent_at": sent,
            "user_id": user_id,
            "identity": identity,
            "session": {
                "id": 123456789012,
                "start_time": sent - 5000,
                "referrer": "https://www.google.com/",
                "landing_page": "https://shop.example/pricing",
                "landing_page_query": "?utm_source=x",
                "landing_page_hash": "",
                "search_keyword": "",
                "utm_source": "x",
                "utm_medium": "",
                "utm_campaign": "spring",
                "utm_term": "",
                "utm_content": "",
            },
            "events": list(events) or [pageview(), button_click()],
        }

    return make


@pytest.fixture
def post(client):
    """POST a JSON body (a dict, or raw bytes/str sent as-is) to an ingestion endpoint."""

    def send(path: str, body, *, content_type: str = "application/json", key: str | None = SERVER_KEY, **headers):
        data = body if isinstance(body, bytes | str) else json.dumps(body)
        if key is not None and path != "/api/collect":
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
        headers.setdefault("HTTP_USER_AGENT", CHROME_MAC)
        return client.post(path, data=data, content_type=content_type, **headers)

    return send


def raw_counts() -> dict[str, int]:
    return {
        "users": RawUser.objects.count(),
        "sessions": RawSession.objects.count(),
        "events": RawEvent.objects.count(),
        "merges": IdentityMerge.objects.count(),
    }
