import pytest


@pytest.fixture(scope="session")
def oracle_browser(browser):
    # One Playwright per process: the shared session browser from tests/e2e/conftest.py.
    return browser
