"""URL patterns, text/href matchers, property filters and whole definitions, run in PostgreSQL."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from psycopg2 import sql

from definitions.compiler import CompileError, compile_definition, compile_selector, definition_event_types
from definitions.compiler.conditions import regex_literal_prefix
from definitions.compiler.postgres import postgres_regex_error
from warehouse.models import RawEvent

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def events(environment):
    rows = {
        "pricing": {
            "type": "pageview",
            "domain": "shop.example",
            "path": "/pricing",
            "query": "?plan=pro&x=1",
            "hash": "#top",
        },
        "blog": {
            "type": "pageview",
            "domain": "Blog.Shop.example",
            "path": "/blog/2026/hello_world",
            "query": "",
            "hash": "",
        },
        "orders": {
            "type": "pageview",
            "domain": "shop.example",
            "path": "/account/orders/42",
            "query": "?a=%25",
            "hash": "",
        },
        "cta": {
            "type": "click",
            "domain": "shop.example",
            "path": "/pricing",
            "target_tag": "button",
            "target_id": "cta",
            "target_classes": ["btn", "btn-primary"],
            "target_text": "Start free trial",
            "target_href": "/signup?plan=pro",
            "hierarchy": [
                {"tag": "button", "id": "cta", "classes": ["btn", "btn-primary"], "attrs": {"type": "submit"}},
                {"tag": "form", "id": "signup"},
                {"tag": "body"},
                {"tag": "html"},
            ],
            "properties": {"plan": "pro", "seats": 5, "price": "12.50", "trial": True},
        },
        "link": {
            "type": "click",
            "domain": "shop.example",
            "path": "/",
            "target_tag": "a",
            "target_classes": ["nav-link"],
            "target_text": "Pricing",
            "target_href": "/pricing",
            "hierarchy": [{"tag": "a", "classes": ["nav-link"]}, {"tag": "nav"}, {"tag": "body"}, {"tag": "html"}],
            "properties": {"seats": 5.0, "plan": "free"},
        },
        "signup": {"type": "custom", "event_name": "Signed Up", "properties": {"plan": "pro", "seats": "12"}},
        "other": {"type": "custom", "event_name": "Signed up", "properties": {"seats": "lots"}},
    }
    for event_id, fields in rows.items():
        RawEvent.objects.create(
            environment=environment,
            event_id=event_id,
            user_id=1,
            session_id=1,
            time=NOW,
            received_at=NOW,
            **fields,
        )
    return environment


def matching(environment, groups, **kwargs) -> set[str]:
    predicate, params = compile_definition(groups, prefix="t_", validate_regex=postgres_regex_error, **kwargs)
    query = sql.SQL("SELECT e.event_id FROM raw_events e WHERE e.environment_id = %(t_env)s AND {}")
    with connection.cursor() as cursor:
        cursor.execute(query.format(predicate), {**params, "t_env": environment.id})
        return {row[0] for row in cursor.fetchall()}


def pageviews(**url) -> list[dict]:
    return [{"kind": "pageview", "conditions": [{"type": k, "value": v} for k, v in url.items()]}]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ({"path": "/pricing"}, {"pricing"}),
        ({"path": "/blog/*"}, {"blog"}),
        ({"path": "*/orders/*"}, {"orders"}),
        ({"path": "/blog/2026/hello_world"}, {"blog"}),
        ({"path": "/blog/2026/hello?world"}, set()),
        ({"path": "/blog/2026/hello%world"}, set()),  # LIKE's % and _ are literal characters here
        ({"path": "/blog/*/hello_*"}, {"blog"}),
        ({"path": "/blog/*/hello-*"}, set()),
        ({"path": "/"}, set()),
        ({"path": "/*"}, {"pricing", "blog", "orders"}),
        ({"domain": "shop.example"}, {"pricing", "orders"}),
        ({"domain": "*.shop.example"}, {"blog"}),
        ({"domain": "BLOG.shop.EXAMPLE"}, {"blog"}),
        ({"query": "plan=pro*"}, {"pricing"}),
        ({"query": "?plan=pro*"}, {"pricing"}),
        ({"query": "*x=1"}, {"pricing"}),
        ({"query": "a=%25"}, {"orders"}),
        ({"query": ""}, {"blog"}),
        ({"hash": "top"}, {"pricing"}),
        ({"hash": "#top"}, {"pricing"}),
        ({"domain": "shop.example", "path": "/account/*"}, {"orders"}),
    ],
)
def test_url_patterns(events, url, expected):
    assert matching(events, pageviews(**url)) == expected


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"type": "domain", "value": ""}, "The domain pattern is empty"),
        ({"type": "path", "value": ""}, "The path pattern is empty"),
        ({"type": "path", "value": 3}, "The path pattern must be a string"),
        ({"type": "selector", "value": "a"}, "A pageview group cannot have a selector condition"),
        ({"type": "url", "value": "x"}, "Unknown condition type 'url'"),
        ({"type": "path", "value": "/", "op": "x"}, "Unknown key 'op' in the path condition"),
    ],
)
def test_bad_url_conditions_are_rejected(events, condition, message):
    with pytest.raises(CompileError) as caught:
        matching(events, [{"kind": "pageview", "conditions": [condition]}])
    assert message in caught.value.message
    assert caught.value.path == "groups[0].conditions[0]"


def clicks(*conditions) -> list[dict]:
    return [{"kind": "click", "conditions": list(conditions)}]


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"type": "text", "op": "exact", "value": "Pricing"}, {"link"}),
        ({"type": "text", "op": "exact", "value": "pricing"}, set()),
        ({"type": "text", "op": "contains", "value": "free"}, {"cta"}),
        ({"type": "text", "op": "regex", "value": "^(Start|Pricing)"}, {"cta", "link"}),
        ({"type": "href", "op": "exact", "value": "/pricing"}, {"link"}),
        ({"type": "href", "op": "contains", "value": "plan=pro"}, {"cta"}),
        ({"type": "href", "op": "regex", "value": "^/sign"}, {"cta"}),
        ({"type": "selector", "value": "form#signup > button.btn-primary[type=SUBMIT]"}, {"cta"}),
        ({"type": "selector", "value": "nav a, #cta"}, {"cta", "link"}),
        ({"type": "selector", "value": ".btn-prim"}, set()),
    ],
)
def test_text_href_and_selector_conditions(events, condition, expected):
    assert matching(events, clicks(condition)) == expected


def test_conditions_in_a_group_are_and_ed_and_groups_or_ed(events):
    groups = clicks({"type": "selector", "value": "button"}, {"type": "path", "value": "/pricing"})
    assert matching(events, groups) == {"cta"}
    groups.append({"kind": "custom", "event_name": "Signed Up"})
    assert matching(events, groups) == {"cta", "signup"}


def test_invalid_regex_is_reported_with_postgresql_s_message(events):
    with pytest.raises(CompileError) as caught:
        matching(events, clicks({"type": "text", "op": "regex", "value": "(unclosed"}))
    assert caught.value.message.startswith("Invalid regular expression: parentheses () not balanced")
    assert caught.value.path == "groups[0].conditions[0]"
    # The failed check did not poison the transaction.
    assert matching(events, clicks({"type": "text", "op": "regex", "value": "^P"})) == {"link"}


@pytest.mark.parametrize("pattern", [r"(.*)(.*)\2\1", r"^(a)\1$", r"x\\\1"])
def test_back_references_are_refused_before_anything_runs(pattern):
    """`(.*)(.*)(.*)(.*)(.*)\5\4\3\2\1` over a 401-character value ran for minutes in PostgreSQL:
    a viewer's preview could hold a core each. Escaped backslashes before a digit are text."""
    for condition in (
        {"type": "text", "op": "regex", "value": pattern},
        {"type": "property", "key": "q", "op": "regex", "value": pattern},
    ):
        with pytest.raises(CompileError, match="Back-references"):
            compile_definition([{"kind": "click", "conditions": [condition]}], prefix="t_")
    compile_definition(
        [{"kind": "click", "conditions": [{"type": "text", "op": "regex", "value": r"a\\1"}]}], prefix="t_"
    )


def test_a_read_of_the_raw_events_past_its_time_is_a_named_error(db, settings):
    """Each read for a preview or count stops at DEFINITIONS_QUERY_TIMEOUT_MS, as an error naming it."""
    from definitions import sql as definitions_sql

    settings.DEFINITIONS_QUERY_TIMEOUT_MS = 100
    with pytest.raises(definitions_sql.QueryTooSlow, match="took longer than 0.1 s"):
        definitions_sql._run(sql.SQL("SELECT pg_sleep(2)"), {}, "a slow read")
    assert definitions_sql._run(sql.SQL("SELECT 1"), {}, "the next read") == [(1,)]


def prop(key, op, value=None) -> list[dict]:
    condition = {"type": "property", "key": key, "op": op}
    if value is not None:
        condition["value"] = value
    return [{"kind": "click", "conditions": [condition]}, {"kind": "custom", "event_name": "Signed Up"}]


@pytest.mark.parametrize(
    ("key", "op", "value", "expected"),
    [
        ("plan", "equals", "pro", {"cta"}),
        ("seats", "equals", "5", {"cta", "link"}),  # 5 and 5.0 are the same number
        ("seats", "equals", 5, {"cta", "link"}),
        ("trial", "equals", True, {"cta"}),
        ("trial", "equals", "true", {"cta"}),
        ("plan", "not_equals", "pro", {"link"}),
        ("trial", "not_equals", "true", {"link"}),  # not set counts as not equal
        ("plan", "contains", "re", {"link"}),
        ("plan", "is_set", None, {"cta", "link"}),
        ("trial", "is_not_set", None, {"link"}),
        ("seats", "greater_than", 4, {"cta", "link"}),
        ("seats", "greater_than", "5", set()),
        ("price", "greater_than", "12.4", {"cta"}),  # numeric strings compare as numbers
        ("price", "less_than", 100, {"cta"}),
        ("plan", "less_than", 1, set()),  # text never compares as a number
        ("plan", "regex", "^p", {"cta"}),
    ],
)
def test_property_filters(events, key, op, value, expected):
    assert matching(events, prop(key, op, value)) - {"signup"} == expected


def test_property_filters_on_custom_events_compare_numeric_strings(events):
    groups = [{"kind": "custom", "event_name": "Signed Up", "conditions": []}]
    groups[0]["conditions"] = [{"type": "property", "key": "seats", "op": "greater_than", "value": 10}]
    assert matching(events, groups) == {"signup"}
    groups[0]["event_name"] = "Signed up"
    assert matching(events, groups) == set()  # "lots" is not a number, and never an error


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ({"type": "property", "key": "", "op": "equals", "value": "x"}, "The property name is empty"),
        ({"type": "property", "key": "a", "op": "like", "value": "x"}, "Unknown property operator 'like'"),
        ({"type": "property", "key": "a", "op": "greater_than", "value": "many"}, "'greater than' needs a number"),
        ({"type": "property", "key": "a", "op": "contains", "value": ""}, "'contains' needs a value"),
        ({"type": "property", "key": "a", "op": "equals", "value": [1]}, "must be a string, number or boolean"),
        ({"type": "property", "key": "a", "op": "regex", "value": "[z-a]"}, "Invalid regular expression"),
        ({"type": "text", "op": "contains", "value": ""}, "'text contains' needs a value"),
        ({"type": "text", "op": "starts", "value": "x"}, "Unknown text operator 'starts'"),
        ({"type": "href", "op": "regex", "value": ""}, "The regular expression is empty"),
        ({"type": "selector", "value": "a:hover"}, "Pseudo-classes are not supported"),
    ],
)
def test_bad_filters_are_rejected(events, condition, message):
    with pytest.raises(CompileError) as caught:
        matching(events, clicks(condition))
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("groups", "message", "path"),
    [
        ([], "A definition needs at least one match group", "groups"),
        ("x", "groups must be a list", ""),
        ([{"kind": "tap"}], "Unknown kind 'tap'", "groups[0].kind"),
        ([{"kind": "click", "conditions": []}], "The click group has no conditions", "groups[0].conditions"),
        ([{"kind": "custom", "conditions": []}], "A custom-event group needs the event name", "groups[0].event_name"),
        (
            [{"kind": "pageview", "event_name": "x"}],
            "Only custom-event groups have an event name",
            "groups[0].event_name",
        ),
        ([{"kind": "click", "foo": 1}], "Unknown key 'foo'", "groups[0]"),
        ([{"kind": "combo", "definitions": []}], "The combo group lists no definitions", "groups[0].definitions"),
    ],
)
def test_bad_groups_are_rejected(events, groups, message, path):
    with pytest.raises(CompileError) as caught:
        matching(events, groups)
    assert message in caught.value.message
    assert caught.value.path == path


def test_combos_inline_other_definitions_and_reject_cycles(events):
    stored = {
        1: clicks({"type": "selector", "value": "#cta"}),
        2: [{"kind": "custom", "event_name": "Signed Up"}],
        3: [{"kind": "combo", "definitions": [1, 2]}],
        4: [{"kind": "combo", "definitions": [5]}],
        5: [{"kind": "combo", "definitions": [4]}],
    }
    resolve = stored.__getitem__
    assert matching(events, [{"kind": "combo", "definitions": [3]}], resolve_combo=resolve) == {"cta", "signup"}
    with pytest.raises(CompileError, match="cycle") as caught:
        matching(events, stored[4], resolve_combo=resolve, definition_id=4)
    assert caught.value.path == "groups[0].definitions[0]"
    with pytest.raises(CompileError, match="cycle"):
        matching(events, [{"kind": "combo", "definitions": [3]}], resolve_combo=resolve, definition_id=1)


def test_params_are_named_with_the_prefix_and_predicates_are_never_null(events):
    predicate, params = compile_selector("nav > a.nav-link", prefix="d42_")
    assert params and all(name.startswith("d42_") for name in params)
    query = sql.SQL("SELECT count(*) FILTER (WHERE ({p}) IS NULL), count(*) FILTER (WHERE NOT ({p})) FROM raw_events e")
    with connection.cursor() as cursor:
        cursor.execute(query.format(p=predicate), params)
        assert cursor.fetchone() == (0, 6)


def test_definition_event_types_name_the_group_kinds_and_give_up_on_combos():
    click = {"kind": "click", "conditions": [{"type": "selector", "value": "button"}]}
    custom = {"kind": "custom", "event_name": "Signed Up", "conditions": []}
    assert definition_event_types([click]) == ("click",)
    assert definition_event_types([custom, click, click]) == ("click", "custom")
    # A combo's members are other definitions: any type ("no promise").
    assert definition_event_types([click, {"kind": "combo", "definitions": [3]}]) == ()
    assert definition_event_types([]) == ()


def test_combos_listing_the_same_definitions_over_and_over_are_expanded_once_each():
    # Levels of combos each listing the level below 100 times: a million expansions at three levels
    # (the sync and the definitions list took 18 s), memory exhausted at four.
    groups = {1: [{"kind": "click", "conditions": [{"type": "selector", "value": "button"}]}]}
    for level in range(2, 7):
        groups[level] = [{"kind": "combo", "definitions": [level - 1] * 100}]
    resolved = []

    def resolve(definition_id):
        resolved.append(definition_id)
        return groups[definition_id]

    assert definition_event_types(groups[6], resolve_combo=resolve) == ("click",)
    assert sorted(resolved) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("pattern", "prefix"),
    [
        ("^/pricing", "/pricing"),
        ("^/pricing/(team|pro)", ""),  # an alternative anywhere: no prefix (conservative)
        ("^/plans/[0-9]+", "/plans/"),
        ("^ab*c", "a"),  # b is quantified
        ("^ab{2}", "a"),
        ("^a\\.b", "a"),
        ("^Start$", "Start"),
        ("Start", ""),  # not anchored
        ("^.x", ""),
        ("***=^x", ""),
    ],
)
def test_anchored_regexes_get_their_literal_prefix(pattern, prefix):
    assert regex_literal_prefix(pattern) == prefix


def compiled(pattern: str) -> str:
    predicate, params = compile_definition(clicks({"type": "href", "op": "regex", "value": pattern}), prefix="t_")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        return cursor.mogrify(predicate.as_string(connection.connection), params).decode()


def test_a_regex_with_a_literal_prefix_is_checked_behind_like_and_matches_the_same(events):
    assert "LIKE '/sign%' AND" in compiled("^/sign(up)?") and "~" in compiled("^/sign(up)?")
    for pattern, expected in [("^/sign(up)?", {"cta"}), ("^/signup\\?plan=pro$", {"cta"}), ("^/pri.*", {"link"})]:
        assert matching(events, clicks({"type": "href", "op": "regex", "value": pattern})) == expected
    assert matching(events, prop("plan", "regex", "^pr")) == {"cta", "signup"}


@pytest.mark.parametrize(
    ("pattern", "sql_test"),
    [
        ("^/sign", "LIKE '/sign%'"),
        ("plan=pro", "strpos("),
        ("=pro$", "LIKE '%=pro'"),
        ("^/pricing$", "= '/pricing'"),
        ("^/a_b%", "LIKE '/a\\_b\\%%'"),  # LIKE's own wildcards are escaped
    ],
)
def test_a_regex_of_plain_text_is_a_string_test_without_the_regex(db, pattern, sql_test):
    assert sql_test in compiled(pattern) and "~" not in compiled(pattern)


def test_plain_text_regexes_match_exactly_what_postgresql_regexes_match(environment):
    """The string tests against PostgreSQL's own `~`, on values that trip up LIKE and anchors."""
    values = ["/a_b%", "/aXb%", "/a_b%/x", "x/a_b%", "/a_b", "", "/pricing", "/pricing/", "a\nb", "50%_off"]
    for index, href in enumerate(values):
        RawEvent.objects.create(
            environment=environment,
            event_id=f"v{index}",
            user_id=1,
            session_id=1,
            time=NOW,
            received_at=NOW,
            type="click",
            target_href=href,
        )
    for pattern in ["^/a_b%", "/a_b%", "/a_b%$", "^/a_b%$", "^", "$", "^$", "_", "%", "^/pricing", "ing$", "50%_"]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT event_id FROM raw_events WHERE environment_id = %s AND target_href ~ %s ORDER BY 1",
                [environment.id, pattern],
            )
            expected = {row[0] for row in cursor.fetchall()}
        assert "~" not in compiled(pattern), pattern
        assert matching(environment, clicks({"type": "href", "op": "regex", "value": pattern})) == expected, pattern
