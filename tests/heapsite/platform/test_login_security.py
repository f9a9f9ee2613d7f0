"""Logins: throttled after repeated failures (django-axes), cookies marked Secure when configured."""

import pytest
from axes.models import AccessAttempt

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password="right-password")


def login(client, password, address="10.1.2.3"):
    return client.post("/login/", {"username": "alice", "password": password}, REMOTE_ADDR=address)


def test_repeated_failures_lock_that_username_from_that_address(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for _ in range(2):
        assert login(client, "wrong").status_code == 200  # the form again, with its error
    locked = login(client, "wrong")
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    # Even the right password is refused now, from that address...
    assert login(client, "right-password").status_code == 429
    assert "_auth_user_id" not in client.session
    # ...but not from another one.
    assert login(client, "right-password", address="10.9.9.9").status_code == 302
    assert AccessAttempt.objects.filter(username="alice", ip_address="10.1.2.3").exists()


def test_a_success_resets_the_count(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    login(client, "wrong")
    login(client, "wrong")
    assert login(client, "right-password").status_code == 302
    client.logout()
    login(client, "wrong")
    assert login(client, "right-password").status_code == 302


def test_cookies_are_secure_when_configured(client, alice, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    page = client.get("/login/")
    assert page.cookies["csrftoken"]["secure"]
    response = login(client, "right-password")
    assert response.cookies["sessionid"]["secure"]
