import pytest
from django.template import engines

from warehouse.models import Environment, Project


@pytest.fixture(autouse=True)
def _strict_templates(settings):
    # A missing template variable is a bug: make it fail loudly in tests.
    for engine in engines.all():
        engine.engine.string_if_invalid = StrictInvalid()
    # Hashing test passwords with PBKDF2 costs more than a second per login on this machine.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


class StrictInvalid(str):
    def __bool__(self):
        return False

    def __mod__(self, name):
        raise AssertionError(f"undefined template variable {name!r}")


@pytest.fixture
def make_environment(db):
    def make(project: str = "main", name: str = "production", api_key: str = "test-server-key") -> Environment:
        proj, _ = Project.objects.get_or_create(name=project)
        environment = Environment(project=proj, name=name, warehouse_schema=f"{project}_{name}")
        environment.set_api_key(api_key)
        environment.save()
        return environment

    return make


@pytest.fixture
def environment(make_environment) -> Environment:
    return make_environment()


@pytest.fixture
def admin_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com", "pw-for-tests-only")
    client.force_login(user)
    return client
