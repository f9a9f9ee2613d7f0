"""Writes for the platform shell: first-run setup, environments and their server keys."""

import secrets

from django.contrib.auth import get_user_model
from django.db import transaction

from warehouse.models import Environment, Project

ADMIN_USERNAME = "admin"
DEMO_ENVIRONMENTS = [("main", "production"), ("main", "development")]


def generate_server_key() -> str:
    return "hs_" + secrets.token_urlsafe(32)


def admin_user_ensure(*, username: str = ADMIN_USERNAME) -> str | None:
    """Create the first superuser with a generated password; returns that password, or None if one exists."""
    user_model = get_user_model()
    if user_model.objects.filter(is_superuser=True).exists():
        return None
    password = secrets.token_urlsafe(12)
    user_model.objects.create_superuser(username=username, email="", password=password)
    return password


@transaction.atomic
def environment_create(*, project_name: str, name: str) -> tuple[Environment, str]:
    """A new environment and its server key (returned once; only its hash is stored)."""
    project, _ = Project.objects.get_or_create(name=project_name)
    environment = Environment(project=project, name=name, warehouse_schema=f"{project_name}_{name}")
    key = generate_server_key()
    environment.set_api_key(key)
    environment.full_clean()
    environment.save()
    return environment, key


def environment_rotate_key(*, environment: Environment) -> str:
    """Replace the server key: the old one stops working at once. Returns the new key (shown once)."""
    key = generate_server_key()
    environment.set_api_key(key)
    environment.save(update_fields=["api_key_hash", "api_key_prefix"])
    return key


def demo_environments_ensure() -> list[tuple[Environment, str]]:
    """main/production and main/development on a fresh install; nothing when any environment exists."""
    if Environment.objects.exists():
        return []
    return [environment_create(project_name=project, name=name) for project, name in DEMO_ENVIRONMENTS]
