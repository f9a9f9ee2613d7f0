"""Every environment variable heapsite reads is documented (Datasette-style)."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# Modules that read the environment: settings, the bootstrap that runs before settings, gunicorn's settings.
SOURCES = ["heapsite/settings.py", "heapsite/embedded.py", "gunicorn.conf.py"]
READ = re.compile(r"""(?:env_(?:str|bool|int|list)\(|os\.environ\.get\(|os\.environ\[)\s*["']([A-Z][A-Z0-9_]*)["']""")
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def variables_read() -> set[str]:
    names = set()
    for source in SOURCES:
        names |= set(READ.findall((REPO / source).read_text()))
    return names - NOT_SETTINGS


def test_the_scan_finds_the_variables():
    assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "HEAPSITE_DATA_DIR"} <= variables_read()


def test_every_variable_is_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (REPO / ".env.example").read_text(), re.M))
    assert variables_read() - documented == set()


def test_every_variable_is_in_the_readme_configuration_table():
    readme = (REPO / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", readme, re.M))
    assert variables_read() - documented == set()
