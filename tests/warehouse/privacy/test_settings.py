"""An environment's privacy settings, on its page: admins edit them, ingestion applies them at once."""

import json
import time

import pytest
from django.test import Client

from warehouse.models import Environment, Membership, RawEvent, RawSession, Role
from warehouse.models.environments import DEFAULT_REDACTED_QUERY_PARAMS

pytestmark = pytest.mark.django_db


def collect(client, environment, *, query: str, session_id: int) -> None:
    now = int(time.time() * 1000)
    body = {
        "app_id": environment.app_id,
        "sent_at": now,
        "user_id": 5,
        "session": {"id": session_id, "start_time": now - 1000},
        "events": [{"id": f"pv-{session_id}", "type": "pageview", "time": now - 500, "query": query}],
    }
    answer = client.post("/api/collect", data=json.dumps(body), content_type="text/plain", REMOTE_ADDR="203.0.113.9")
    assert answer.status_code == 200


def test_defaults_are_private_for_urls_and_off_for_retention(environment):
    assert environment.redacted_query_params == list(DEFAULT_REDACTED_QUERY_PARAMS)
    assert {"email", "e-mail", "token", "password", "code", "ssn"} <= set(environment.redacted_query_params)
    assert (environment.redact_email_values, environment.ip_mode, environment.retention_days) == (True, "full", None)


def test_admin_edits_the_settings_and_ingestion_applies_them_at_once(admin_client, environment):
    url = f"/e/{environment.warehouse_schema}/"
    page = admin_client.get(url).content.decode()
    assert 'name="redacted_query_params"' in page and "email, e-mail" in page and "Keep raw events for" in page

    collect(admin_client, environment, query="?coupon=X&email=a", session_id=1)  # fills the app id cache
    answer = admin_client.post(
        f"{url}privacy/settings",
        {"redacted_query_params": "coupon,\n ref , COUPON", "ip_mode": "truncated", "retention_days": "90"},
        follow=True,
    )
    assert "Privacy settings saved" in answer.content.decode()
    environment.refresh_from_db()
    assert environment.redacted_query_params == ["coupon", "ref"]
    assert (environment.redact_email_values, environment.ip_mode, environment.retention_days) == (
        False,
        "truncated",
        90,
    )

    collect(admin_client, environment, query="?coupon=X&email=a&ref=y", session_id=2)
    assert RawEvent.objects.get(event_id="pv-2").query == "?email=a"
    assert RawSession.objects.get(session_id=2).ip == "203.0.113.0"
    assert RawSession.objects.get(session_id=1).ip == "203.0.113.9"

    admin_client.post(f"{url}privacy/settings", {"redacted_query_params": "", "ip_mode": "none", "retention_days": ""})
    environment.refresh_from_db()
    assert (environment.redacted_query_params, environment.ip_mode, environment.retention_days) == ([], "none", None)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"retention_days": "a week"}, "whole number of days"),
        ({"retention_days": "0"}, "between 1 and 36500 days"),
        ({"ip_mode": "hashed"}, "the IP mode must be one of full, truncated, none"),
        ({"redacted_query_params": "email, ?!"}, "is not a parameter name"),
    ],
)
def test_bad_settings_are_refused_and_named(admin_client, environment, form, message):
    data = {"redacted_query_params": "email", "ip_mode": "full", "retention_days": "", **form}
    answer = admin_client.post(f"/e/{environment.warehouse_schema}/privacy/settings", data, follow=True)
    assert message in answer.content.decode()
    assert Environment.objects.get(pk=environment.pk).redacted_query_params == list(DEFAULT_REDACTED_QUERY_PARAMS)


def test_only_admins_change_them(environment, django_user_model):
    editor = django_user_model.objects.create_user("editor", password="pw-for-tests-only")
    Membership.objects.create(user=editor, environment=environment, role=Role.EDITOR)
    client = Client()
    client.force_login(editor)
    page = client.get(f"/e/{environment.warehouse_schema}/").content.decode()
    assert "Save privacy settings" not in page
    assert "dropped query parameters" in page and "and any value that looks like an email address" in page
    data = {"redacted_query_params": "", "ip_mode": "full"}
    assert client.post(f"/e/{environment.warehouse_schema}/privacy/settings", data).status_code == 403
    assert Environment.objects.get(pk=environment.pk).redacted_query_params == list(DEFAULT_REDACTED_QUERY_PARAMS)
