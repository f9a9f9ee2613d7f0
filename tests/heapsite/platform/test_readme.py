"""The README stays true: its links resolve and every doc is listed."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_readme_links_point_at_files_that_exist():
    readme = (REPO / "README.md").read_text()
    targets = {t for t in re.findall(r"\]\(([^)#]+)\)", readme) if "://" not in t}

    assert targets, "the README links its docs"
    assert [t for t in sorted(targets) if not (REPO / t).exists()] == []


def test_every_doc_is_listed_in_the_readme():
    readme = (REPO / "README.md").read_text()

    assert [d.name for d in sorted((REPO / "docs").glob("*.md")) if f"(docs/{d.name})" not in readme] == []
