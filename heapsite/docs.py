"""The repository's docs/ shown in the app at /docs/<name>/, so pages link to them instead of naming files.

Rendered with Python-Markdown (tables, fenced code, heading anchors). The files are the project's own,
not user input; only names found in docs/ are served.
"""

import re
from functools import lru_cache
from pathlib import Path

import markdown
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

DOCS_DIR = Path(settings.BASE_DIR) / "docs"
_NAME_RE = re.compile(r"^[a-z0-9-]+$")
# Links between docs (`warehouse.md#tables`) become links between these pages.
_MD_LINK_RE = re.compile(r'href="(?:\./)?([a-z0-9-]+)\.md(#[^"]*)?"')


def docs_available() -> list[tuple[str, str]]:
    """(name, title) of every doc, alphabetically."""
    found = []
    for path in sorted(DOCS_DIR.glob("*.md")):
        first = path.read_text(encoding="utf-8").split("\n", 1)[0]
        found.append((path.stem, first.lstrip("# ").strip() or path.stem))
    return found


@lru_cache(maxsize=32)
def _rendered(name: str, mtime_ns: int) -> str:
    text = (DOCS_DIR / f"{name}.md").read_text(encoding="utf-8")
    html = markdown.markdown(text, extensions=["tables", "fenced_code", "toc"])
    return _MD_LINK_RE.sub(lambda m: f'href="/docs/{m.group(1)}/{m.group(2) or ""}"', html)


@require_GET
def docs_page(request: HttpRequest, name: str = "") -> HttpResponse:
    if name.endswith(".md"):
        return redirect("docs", name=name.removesuffix(".md"))
    if not name:
        return render(request, "heapsite/docs.html", {"docs": docs_available(), "html": "", "name": ""})
    path = DOCS_DIR / f"{name}.md"
    if not _NAME_RE.match(name) or not path.is_file():
        raise Http404(f"there is no doc named {name!r}")
    html = _rendered(name, path.stat().st_mtime_ns)
    return render(request, "heapsite/docs.html", {"docs": docs_available(), "html": mark_safe(html), "name": name})  # noqa: S308 - the repository's own docs
