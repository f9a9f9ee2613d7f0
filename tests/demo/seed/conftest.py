import io
from datetime import UTC, datetime

import pytest

from demo.seed.services import demo_seed

DEMO_END = datetime(2026, 11, 2, 15, 30, tzinfo=UTC)  # a Monday afternoon


@pytest.fixture
def seed_demo(db):
    """Seed an environment (created when missing) with a fixed end time, so results are reproducible."""

    def seed(schema: str = "main_production", events: int = 3000, seed: int = 7, **kwargs):
        kwargs.setdefault("end", DEMO_END)
        return demo_seed(schema=schema, events=events, seed=seed, stream=io.StringIO(), **kwargs)

    return seed
