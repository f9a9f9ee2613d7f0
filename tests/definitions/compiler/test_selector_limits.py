"""Selector limits (docs/definitions.md, "Limits") and matching rules the browser oracle found.

No selector the compiler accepts may recurse too deep in Python or PostgreSQL: the longest chains
and lists it accepts compile to SQL of bounded nesting and run.
"""

import sys
from datetime import UTC, datetime

import pytest
from django.db import connection
from psycopg2 import sql

from definitions.compiler import CompileError, compile_selector, parse_selector_list
from definitions.compiler.css import MAX_COMPOUNDS, MAX_LENGTH, MAX_LIST
from warehouse.models import RawEvent

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('[a~/**/="b"]', 2),
        ('[a^/* x */="b"]', 2),
        ("[a$ =b]", 2),
        ("[a*/**/ =b]", 2),
        ("[a ~ = b]", 3),
    ],
)
def test_an_operator_split_by_a_comment_or_whitespace_is_a_positioned_error(text, position):
    with pytest.raises(CompileError) as caught:
        parse_selector_list(text)
    assert "must be written without whitespace or a comment between" in caught.value.message
    assert caught.value.position == position
    assert f"at character {position + 1}" in caught.value.message


@pytest.mark.parametrize("text", ["[a/**/~=b]", "[a~=/**/b]", "[ a ~= b ]", "[a/**/=b]"])
def test_comments_and_whitespace_around_an_operator_are_fine(text):
    [selector] = parse_selector_list(text)
    assert selector.compounds[0].attributes[0].name == "a"


def chain(count: int, combinator: str = " ", compound: str = "a") -> str:
    return combinator.join([compound] * count)


def test_the_issue_17_selector_of_199_compounds_is_refused_where_it_passes_the_limit():
    text = chain(199)
    assert len(text) < 400
    with pytest.raises(CompileError) as caught:
        parse_selector_list(text)
    assert f"at most {MAX_COMPOUNDS} compound selectors" in caught.value.message
    assert caught.value.position == 2 * MAX_COMPOUNDS  # the first compound past the limit
    assert caught.value.message.endswith(f"at character {2 * MAX_COMPOUNDS + 1}")


def test_the_limit_counts_each_complex_selector_of_a_list_on_its_own():
    parse_selector_list(", ".join([chain(MAX_COMPOUNDS)] * 4))
    with pytest.raises(CompileError) as caught:
        parse_selector_list(f"{chain(3)}, {chain(MAX_COMPOUNDS + 1, ' > ')}")
    assert caught.value.position == len(f"{chain(3)}, ") + 4 * MAX_COMPOUNDS


def test_overlong_selector_error_has_a_position():
    with pytest.raises(CompileError) as caught:
        parse_selector_list("a" * (MAX_LENGTH + 1))
    assert caught.value.position == MAX_LENGTH


def composed_depth(node) -> int:
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, sql.Composed):
            stack += [(child, depth + 1) for child in item.seq]
    return deepest


# The worst selectors the compiler accepts: the longest chains, with every kind of compound, and
# lists of them filling the length limit.
WORST_ACCEPTED = {
    "descendants": chain(MAX_COMPOUNDS),
    "descendants with attributes": chain(MAX_COMPOUNDS, compound="a[x]"),
    "children": chain(MAX_COMPOUNDS, " > "),
    "alternating": " ".join(["a > b.c[x]"] * (MAX_COMPOUNDS // 2)),
    "list of long chains": ", ".join([chain(MAX_COMPOUNDS, compound="a[x]")] * 25)[:MAX_LENGTH].rsplit(",", 1)[0],
    "list of the most selectors": ",".join(["a"] * MAX_LIST),
    "compound of 1365 attributes": "[x]" * 1365,
}


@pytest.mark.parametrize("text", WORST_ACCEPTED.values(), ids=WORST_ACCEPTED.keys())
def test_the_worst_accepted_selectors_compile_shallow_and_run(text, environment):
    assert len(text) <= MAX_LENGTH
    predicate, params = compile_selector(text, prefix="w_")
    # Far below Python's recursion limit whatever the caller's own stack depth.
    assert composed_depth(predicate) < 200 < sys.getrecursionlimit() - 500
    deep = [{"tag": "a", "classes": ["c"], "attrs": {"x": ""}}] * 40
    click_on(environment, "deep", deep[0], ancestors=deep[1:])
    assert len(matching(environment, text)) == (0 if text.startswith("a > b.c") else 1)


def click_on(environment, event_id: str, element: dict, ancestors: list[dict] = ()) -> None:
    RawEvent.objects.create(
        environment=environment,
        event_id=event_id,
        user_id=1,
        session_id=1,
        time=NOW,
        received_at=NOW,
        type="click",
        target_tag=element["tag"],
        target_id=element.get("id", ""),
        target_classes=element.get("classes", []),
        hierarchy=[element, *ancestors, {"tag": "body"}, {"tag": "html"}],
    )


def matching(environment, selector: str) -> list[str]:
    predicate, params = compile_selector(selector, prefix="f_")
    query = sql.SQL("SELECT e.event_id FROM raw_events e WHERE e.environment_id = %(f_env)s AND {} ORDER BY 1")
    with connection.cursor() as cursor:
        cursor.execute(query.format(predicate), {**params, "f_env": environment.pk})
        return [row[0] for row in cursor.fetchall()]


def test_svg_attribute_names_fold_ascii_case_only_whatever_the_database_locale(environment):
    """PostgreSQL's case-insensitive regex follows the database locale: under C.UTF-8 (the external
    PostgreSQL 15 of CI) it folds "É" to "é" and the Kelvin sign to "k"; browsers fold ASCII only."""
    for name in ("viewBox", "data-É", "data-k", "data-ß", "data-σ", "data-ı"):
        click_on(environment, name, {"tag": "rect", "ns": "svg", "attrs": {name: "1"}})
    click_on(environment, "html data-É", {"tag": "div", "attrs": {"data-É": "1"}})
    assert matching(environment, "[viewbox]") == ["viewBox"]
    assert matching(environment, "[VIEWBOX]") == ["viewBox"]
    assert matching(environment, "[data-é]") == []
    assert matching(environment, "[data-\\c9]") == ["data-É", "html data-É"]  # the same character, escaped
    assert matching(environment, "[data-\\212A]") == []  # the Kelvin sign is not "k"
    assert matching(environment, "[data-K]") == ["data-k"]
    assert matching(environment, "[data-\\1E9E]") == []  # capital sharp s
    assert matching(environment, "[data-Σ]") == []
    assert matching(environment, "[data-I]") == []  # Unicode upper-cases the dotless i to "I"


def test_namespaced_attributes_never_match_an_unprefixed_selector(environment):
    xlink = [{"ns": "xlink", "name": "xlink:href", "value": "#x"}, {"ns": "xml", "name": "xml:lang", "value": "en"}]
    click_on(environment, "svg a", {"tag": "a", "ns": "svg", "ns_attrs": xlink})
    click_on(environment, "html div", {"tag": "div", "attrs": {"xlink:href": "#x", "xml:lang": "en", "xmlns": "u"}})
    assert matching(environment, "[xlink\\:href]") == ["html div"]
    assert matching(environment, '[xlink\\:href="#x"]') == ["html div"]
    assert matching(environment, "[href], [lang]") == []
    assert matching(environment, "[xml\\:lang], [xmlns]") == ["html div"]


def test_an_escaped_asterisk_is_a_type_selector_not_the_universal_one(environment):
    # Found by the oracle (deep kind, seed 22): `\\*` names elements whose tag is "*", and there are none.
    click_on(environment, "div", {"tag": "div", "classes": ["a"]})
    assert matching(environment, "*") == ["div"]
    assert matching(environment, "\\*") == []
    assert matching(environment, ".a \\*, \\*.a, \\* > .a, \\* .a") == []
    assert matching(environment, "* .a, html *.a") == ["div"]
