import io
from datetime import UTC, datetime

import pytest

from demo.seed.services import demo_seed
from warehouse.models import Environment, IdentityMerge, Project, RawEvent, RawSession, RawUser

DEMO_END = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)
SCHEMA = "browse_demo"


@pytest.fixture(scope="package")
def _seeded(django_db_setup, django_db_blocker):
    """4,000 demo events, loaded once for this package (committed), removed when it is done."""
    with django_db_blocker.unblock():
        environment = demo_seed(
            schema=SCHEMA, events=4000, seed=5, end=DEMO_END, replace=True, stream=io.StringIO()
        ).environment
    yield environment
    with django_db_blocker.unblock():
        for model in (RawEvent, RawSession, RawUser, IdentityMerge):
            model.objects.filter(environment=environment).delete()
        environment.delete()
        Project.objects.filter(name="browse", environments__isnull=True).delete()


@pytest.fixture
def demo_environment(_seeded, db) -> Environment:
    return Environment.objects.get(pk=_seeded.pk)


@pytest.fixture
def raw_url(demo_environment):
    def url(suffix: str = "") -> str:
        return f"/e/{SCHEMA}/raw/{suffix}"

    return url
