"""The browser is the judge: compiled selectors in PostgreSQL must agree with `element.matches()`.

Random pages (tags, SVG, ids and classes with special characters, class sets in any order,
attributes with quotes and case variants, deep nesting) are described by the real static/heap.js
(`heap._describe`, exactly what it sends), stored as raw_events rows, and every (element, selector) pair is compared.
`ORACLE_SEEDS=1-50 pytest tests/e2e/definitions` runs more seeds (default: seed 1).
"""

import os
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from psycopg2 import sql

from definitions.compiler import CompileError, compile_selector, selector_sql
from warehouse.models import RawEvent

from .oracle import PageGenerator, SelectorGenerator, mutate

pytestmark = pytest.mark.e2e

HEAP_JS = Path(__file__).resolve().parents[3] / "static" / "heap.js"
PAGES = 10
SELECTORS = 300
FUZZED = 200

EVALUATE = """
(selectors) => {
  const elements = [document.documentElement, document.body, ...document.body.querySelectorAll("*")];
  const described = elements.map((el) => heap._describe(el));
  const results = selectors.map((selector) => {
    try {
      return elements.map((el) => (el.matches(selector) ? "1" : "0")).join("");
    } catch (error) {
      return null;
    }
  });
  return {described, results};
}
"""

# Constructs the compiler refuses on purpose although the browser accepts them.
UNSUPPORTED = ("not supported", "not captured")


def seeds() -> list[int]:
    spec = os.environ.get("ORACLE_SEEDS", "1")
    out = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        out += list(range(int(low), int(high or low) + 1))
    return out


# 16 is the real unrolled depth; 2 sends most hierarchies through the deep-walk fallbacks too.
@pytest.mark.parametrize("unroll_depth", [16, 2])
@pytest.mark.parametrize("seed", seeds())
def test_compiled_selectors_agree_with_the_browser(seed, unroll_depth, oracle_browser, environment, monkeypatch):
    monkeypatch.setattr(selector_sql, "UNROLL_DEPTH", unroll_depth)
    rng = random.Random(seed)
    pages = [PageGenerator(rng).page() for _ in range(PAGES)]
    generator = SelectorGenerator(rng)
    generated = list(dict.fromkeys(generator.selector() for _ in range(SELECTORS)))
    fuzzed = list(dict.fromkeys(mutate(rng.choice(generated), rng) for _ in range(FUZZED)))
    selectors = generated + [s for s in fuzzed if s not in generated]

    context = oracle_browser.new_context()
    page = context.new_page()
    rows, browser_matches, browser_valid = [], {s: set() for s in selectors}, {}
    for page_number, content in enumerate(pages):
        page.set_content(content)
        page.add_script_tag(path=str(HEAP_JS))
        assert page.evaluate("window.heap._loaded === true && typeof window.heap._describe === 'function'")
        out = page.evaluate(EVALUATE, selectors)
        for selector, result in zip(selectors, out["results"], strict=True):
            browser_valid[selector] = result is not None
            for index, bit in enumerate(result or ""):
                if bit == "1" and out["described"][index] is not None:
                    browser_matches[selector].add(f"{page_number}-{index}")
        for index, described in enumerate(out["described"]):
            if described is not None:  # heap.js sends nothing for <html> itself: no event to judge
                rows.append((f"{page_number}-{index}", described))
    context.close()

    now = datetime.now(UTC)
    RawEvent.objects.bulk_create(
        RawEvent(
            environment=environment,
            event_id=event_id,
            user_id=1,
            session_id=1,
            time=now,
            received_at=now,
            type="click",
            target_tag=described["target"]["tag"],
            target_id=described["target"]["id"],
            target_classes=described["target"]["classes"],
            hierarchy=described["hierarchy"],
        )
        for event_id, described in rows
    )

    problems, pairs = [], 0
    with connection.cursor() as cursor:
        for selector in selectors:
            try:
                predicate, params = compile_selector(selector, prefix="o_")
            except CompileError as error:
                if browser_valid[selector] and (
                    selector in generated or not any(w in error.message for w in UNSUPPORTED)
                ):
                    problems.append(f"{selector!r}: the browser accepts it, the compiler says {error}")
                continue
            if not browser_valid[selector]:
                problems.append(f"{selector!r}: the browser rejects it, the compiler accepted it")
                continue
            query = sql.SQL("SELECT e.event_id FROM raw_events e WHERE e.environment_id = %(o_env)s AND {}")
            cursor.execute(query.format(predicate), {**params, "o_env": environment.id})
            matched = {row[0] for row in cursor.fetchall()}
            pairs += len(rows)
            for event_id in sorted(matched ^ browser_matches[selector]):
                hierarchy = dict(rows)[event_id]["hierarchy"]
                side = "SQL only" if event_id in matched else "browser only"
                problems.append(f"{selector!r} on {event_id} ({side}): {hierarchy[:4]}")
    accepted = sum(1 for s in selectors if browser_valid[s])
    print(f"seed {seed}: {len(rows)} elements x {accepted} valid selectors, {pairs} pairs compared")
    assert pairs > 50_000
    assert problems == [], f"{len(problems)} disagreements:\n" + "\n".join(problems[:40])


def test_empty_class_attribute(oracle_browser, environment):
    page = oracle_browser.new_page()
    page.set_content('<!DOCTYPE html><html><body><div id="x" class=""></div></body></html>')
    page.add_script_tag(path=str(HEAP_JS))
    described = page.evaluate("heap._describe(document.getElementById('x'))")
    assert page.evaluate("document.getElementById('x').matches('[class]')")
    page.close()
    now = datetime.now(UTC)
    RawEvent.objects.create(
        environment=environment,
        event_id="x",
        user_id=1,
        session_id=1,
        time=now,
        received_at=now,
        type="click",
        target_tag="div",
        target_id="x",
        hierarchy=described["hierarchy"],
    )
    predicate, params = compile_selector("[class]")
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM raw_events e WHERE {}").format(predicate), params)
        assert cursor.fetchone()[0] == 1
