import pytest


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser("editor", "editor@example.com", "pw-for-tests-only")
