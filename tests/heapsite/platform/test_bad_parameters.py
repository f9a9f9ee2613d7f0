"""Numbers in query strings, forms and URLs that str.isdigit() accepts and int() or a bigint does not:
a named refusal or nothing found, never a 500."""

import pytest
from django.contrib.messages import get_messages

from warehouse.models import EnvironmentSync, UserDeletionRequest

SUPERSCRIPT_TWO = "\u00b2"  # "²": a digit to str.isdigit(), not to int()
PAST_BIGINT = str(2**63)


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, PAST_BIGINT, "1" * 400])
@pytest.mark.parametrize("query", ["sql/?saved={}", "sql/?run={}", "raw/?session={}", "raw/?user={}"])
def test_ids_in_query_strings_find_nothing_rather_than_fail(admin_client, environment, query, value):
    response = admin_client.get(f"/e/{environment.warehouse_schema}/" + query.format(value))
    assert response.status_code in (200, 400), response.status_code


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, PAST_BIGINT])
def test_a_live_poll_with_a_bad_id_is_a_400(admin_client, environment, value):
    response = admin_client.get(f"/e/{environment.warehouse_schema}/raw/?live={value}")
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        ("99999999999999999999", "between 5 seconds and 7 days"),
        (SUPERSCRIPT_TWO, "must be a whole number of seconds"),
        ("3", "between 5 seconds and 7 days"),
    ],
)
def test_a_sync_interval_out_of_range_is_named(admin_client, environment, interval, message):
    response = admin_client.post(f"/e/{environment.warehouse_schema}/sync/settings", {"interval_seconds": interval})
    assert response.status_code == 302
    assert any(message in str(m) for m in get_messages(response.wsgi_request))
    assert not EnvironmentSync.objects.filter(interval_seconds__gt=7 * 86400).exists()


def test_retention_in_other_digits_is_named(admin_client, environment):
    response = admin_client.post(
        f"/e/{environment.warehouse_schema}/privacy/settings", {"retention_days": SUPERSCRIPT_TWO, "ip_mode": "full"}
    )
    assert response.status_code == 302
    assert any("whole number of days" in str(m) for m in get_messages(response.wsgi_request))


def test_deleting_a_user_id_past_the_bigint_range_finds_no_user(admin_client, environment):
    response = admin_client.post(f"/e/{environment.warehouse_schema}/users/{PAST_BIGINT}/delete")
    assert response.status_code == 404
    assert not UserDeletionRequest.objects.exists()


def test_a_user_page_past_the_bigint_range_is_a_404(admin_client, environment):
    assert admin_client.get(f"/e/{environment.warehouse_schema}/users/{PAST_BIGINT}/").status_code == 404


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, PAST_BIGINT])
def test_definition_ids_in_forms_find_nothing_rather_than_fail(admin_client, environment, make_environment, value):
    schema = environment.warehouse_schema
    preview = admin_client.post(f"/e/{schema}/definitions/preview", {"definition": value, "groups": "[]"})
    assert preview.status_code == 404
    other = make_environment("main", "staging")
    copy = admin_client.post(f"/e/{schema}/definitions/copy", {"target": other.warehouse_schema, "definition": [value]})
    assert copy.status_code == 302
