import pytest


@pytest.fixture(scope="session")
def oracle_browser(browser):
    # The one Chromium of the session (tests/e2e/conftest.py): Playwright's sync API cannot run
    # two instances in one thread, so every browser test shares it.
    return browser
