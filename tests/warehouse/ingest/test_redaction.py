"""Redaction at ingestion: personal data in URLs and IP addresses never reaches the raw store,
whatever the snippet that sent it (old heap.js payloads go straight to /api/collect here)."""

import pytest
from django.db import connection

from tests.warehouse.privacy.conftest import set_privacy
from warehouse.ingest.redact import PrivacyPolicy, ip_for_storage, policy_for, redact_url
from warehouse.models import IpMode, RawEvent, RawSession

from .conftest import button_click, pageview

pytestmark = pytest.mark.django_db

EMAIL = "alice.newsletter@example.com"
TOKEN = "tok_5ecret_d0_not_store"


def default_policy() -> PrivacyPolicy:
    from warehouse.models import Environment

    return policy_for(Environment())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("?newsletter_email=a%40b.com", ""),
        ("?page=2&token=abc&sort=new", "?page=2&sort=new"),
        ("https://shop.example/reset?Token=abc#top", "https://shop.example/reset#top"),
        ("/account?user%5Bemail%5D=a%40b.com&tab=1", "/account?tab=1"),
        ("?userEmail=x&E-Mail=y&e_mail=z&mail=w&q=shoes", "?q=shoes"),
        ("?utm_source=newsletter&utm_medium=email&code=42", "?utm_source=newsletter&utm_medium=email"),
        ("?next=%2Fwelcome%3Fu%3Dbob%40example.com&lang=en", "?lang=en"),  # the value holds an email
        # ... encoded twice: a redirect wrapping a URL whose query was encoded
        ("?next=https%3A%2F%2Fshop.example%2Fwelcome%3Femail%3Dalice%2540example.com&lang=en", "?lang=en"),
        ("?q=50%25+off&n=%2540", "?q=50%25+off&n=%2540"),  # percent signs, and an at sign alone: no email
        ("#access_token=xyz&state=1", "#state=1"),
        ("https://app.example/#/login?password=hunter2&x=1", "https://app.example/#/login?x=1"),
        ("?a=1&&b=%zz", "?a=1&&b=%zz"),  # kept exactly as written, malformed parts too
        ("?barcode=1&encoded=2&tokenizer=3", "?barcode=1&encoded=2&tokenizer=3"),  # not whole words
        ("/plain/path", "/plain/path"),
    ],
)
def test_default_policy_drops_personal_parameters_and_keeps_the_rest_as_written(url, expected):
    assert redact_url(url, default_policy()) == expected


def test_ip_modes():
    assert ip_for_storage("203.0.113.77", IpMode.FULL) == "203.0.113.77"
    assert ip_for_storage("203.0.113.77", IpMode.TRUNCATED) == "203.0.113.0"
    assert ip_for_storage("2001:db8:abcd:12:3456::1", IpMode.TRUNCATED) == "2001:db8:abcd::"
    assert ip_for_storage("::ffff:198.51.100.9", IpMode.TRUNCATED) == "198.51.100.0"
    assert ip_for_storage("203.0.113.77", IpMode.NONE) is None
    assert ip_for_storage(None, IpMode.FULL) is None


def old_snippet_batch(batch):
    """What a heap.js that predates redaction sent from the demo's old GET newsletter form, after
    following a password-reset link: the email and the token in every URL field it fills."""
    query = f"?newsletter_email={EMAIL.replace('@', '%40')}&utm_source=spring"
    reset = f"https://shop.example/reset?token={TOKEN}&step=2"
    body = batch(pageview(), button_click())
    body["session"].update(landing_page_query=query, referrer=reset, landing_page_hash=f"#token={TOKEN}")
    for event in body["events"]:
        event.update(query=query, referrer=reset)
    click = body["events"][1]
    click["target"]["href"] = f"/account?email={EMAIL}"
    click["hierarchy"][0]["attrs"]["href"] = f"/account?email={EMAIL}"
    click["hierarchy"][1]["attrs"]["action"] = f"/subscribe?token={TOKEN}"
    return body


def raw_text() -> str:
    """Every raw row of every raw table, as text."""
    with connection.cursor() as cursor:
        parts = []
        for table in ("raw_events", "raw_sessions", "raw_users", "raw_identity_merges"):
            cursor.execute(f"SELECT coalesce(string_agg(t::text, ' '), '') FROM {table} t")  # noqa: S608 - fixed names
            parts.append(cursor.fetchone()[0])
        return " ".join(parts)


def test_an_old_snippet_cannot_store_the_newsletter_email_or_a_token(post, batch):
    assert post("/api/collect", old_snippet_batch(batch)).status_code == 200

    stored = raw_text()
    assert RawEvent.objects.count() == 2
    for secret in (EMAIL, EMAIL.replace("@", "%40"), TOKEN):
        assert secret not in stored
    session = RawSession.objects.get()
    assert session.landing_page_query == "?utm_source=spring"
    assert session.referrer == "https://shop.example/reset?step=2"
    assert session.landing_page_hash == ""
    click = RawEvent.objects.get(type="click")
    assert (click.query, click.referrer, click.target_href) == (
        "?utm_source=spring",
        "https://shop.example/reset?step=2",
        "/account",
    )
    assert click.hierarchy[0]["attrs"] == {"type": "submit", "data-plan": "pro", "href": "/account"}
    assert click.hierarchy[1]["attrs"] == {"method": "post", "action": "/subscribe"}


def test_the_environment_list_is_editable_and_email_values_can_be_kept(post, batch, environment):
    set_privacy(environment, redacted_query_params=["coupon"], redact_email_values=False)
    body = batch(pageview())
    body["events"][0]["query"] = f"?coupon=SAVE10&token=t&invite={EMAIL}"
    assert post("/api/collect", body).status_code == 200
    assert RawEvent.objects.get().query == f"?token=t&invite={EMAIL}"


def test_a_redacted_utm_field_is_emptied_too(post, batch, environment):
    set_privacy(environment, redacted_query_params=["utm_term"])
    body = batch(pageview())
    body["session"].update(landing_page_query="?utm_source=x&utm_term=alice", utm_term="alice")
    assert post("/api/collect", body).status_code == 200
    session = RawSession.objects.get()
    assert (session.landing_page_query, session.utm_term, session.utm_source) == ("?utm_source=x", "", "x")


@pytest.mark.parametrize(
    ("mode", "stored"), [(IpMode.FULL, "198.51.100.77"), (IpMode.TRUNCATED, "198.51.100.0"), (IpMode.NONE, None)]
)
def test_ip_mode_applies_after_the_geoip_lookup(post, batch, environment, settings, tmp_path, mode, stored):
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-City")
    # Only the full address is in this network: a lookup after truncation would find nothing.
    writer.insert_network(IPSet(["198.51.100.77/32"]), {"country": {"names": {"en": "Norway"}}})
    path = tmp_path / "city.mmdb"
    writer.to_db_file(str(path))
    settings.GEOIP_DATABASE = str(path)
    set_privacy(environment, ip_mode=mode)
    assert post("/api/collect", batch(), REMOTE_ADDR="198.51.100.77").status_code == 200
    session = RawSession.objects.get()
    assert (session.ip, session.country) == (stored, "Norway")


def test_segment_and_heap_server_calls_go_through_the_same_redaction(client, environment):
    """The drop-in endpoints (docs/migrating.md) write through the same path: nothing escapes."""
    import base64

    set_privacy(environment, ip_mode=IpMode.NONE)
    page = {
        "type": "page",
        "messageId": "p-1",
        "anonymousId": "anon-1",
        "properties": {"url": f"https://s.test/reset?token={TOKEN}&x=1", "referrer": f"https://g.test/?email={EMAIL}"},
        "context": {
            "ip": "198.51.100.77",
            "page": {
                "url": f"https://s.test/reset?token={TOKEN}&x=1",
                "search": f"?token={TOKEN}&x=1",
                "referrer": f"https://g.test/?email={EMAIL}",
            },
        },
    }
    auth = "Basic " + base64.b64encode(b"test-server-key:").decode()
    answer = client.post("/v1/batch", data={"batch": [page]}, content_type="application/json", HTTP_AUTHORIZATION=auth)
    assert answer.status_code == 200, answer.content
    stored = raw_text()
    assert RawEvent.objects.get().query == "?x=1"
    for secret in (EMAIL, TOKEN, "198.51.100.77"):
        assert secret not in stored
