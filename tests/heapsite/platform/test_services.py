import io

import pytest
from django.contrib.auth import authenticate
from django.core.management.base import OutputWrapper
from django.test import RequestFactory

from heapsite.launcher import first_run_setup
from heapsite.services import admin_user_ensure, demo_environments_ensure, environment_create, environment_rotate_key
from warehouse.models import Environment


@pytest.mark.django_db
def test_first_admin_gets_a_generated_password_once():
    password = admin_user_ensure()

    assert password and len(password) >= 12
    assert authenticate(RequestFactory().post("/login/"), username="admin", password=password).is_superuser
    assert admin_user_ensure() is None, "never a second admin, never the password again"


@pytest.mark.django_db
def test_environment_keys_are_shown_once_and_stored_hashed():
    environment, key = environment_create(project_name="shop", name="staging")

    assert environment.warehouse_schema == "shop_staging"
    assert environment.check_api_key(key)
    assert key not in environment.api_key_hash and environment.api_key_prefix == key[:8]

    new_key = environment_rotate_key(environment=environment)
    environment.refresh_from_db()
    assert environment.check_api_key(new_key)
    assert not environment.check_api_key(key), "the old key stops working"


@pytest.mark.django_db
def test_demo_environments_only_on_a_fresh_install(make_environment):
    created = demo_environments_ensure()

    assert [e.warehouse_schema for e, _ in created] == ["main_production", "main_development"]
    assert demo_environments_ensure() == []


@pytest.mark.django_db
def test_demo_environments_are_not_added_next_to_existing_ones(make_environment):
    make_environment(project="acme", name="live")

    assert demo_environments_ensure() == []
    assert list(Environment.objects.values_list("warehouse_schema", flat=True)) == ["acme_live"]


@pytest.mark.django_db(transaction=True)
def test_first_run_setup_prints_the_login_and_keys_once():
    out = io.StringIO()
    first_run_setup(out=OutputWrapper(out), demo=False)
    first = out.getvalue()
    first_run_setup(out=OutputWrapper(out), demo=False)

    assert "user:     admin" in first and "password: " in first
    assert "Created environment main / production" in first
    assert out.getvalue().count("password: ") == 1, "shown on the first run only"
