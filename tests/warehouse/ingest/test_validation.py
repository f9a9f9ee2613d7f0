"""The declarative validator on its own: what a payload author relies on when adding a field."""

from warehouse.ingest.validation import MAX_ERRORS, Int, List, Map, Obj, Str, Timestamp, validate


def test_fields_required_defaults_and_unknown_keys():
    spec = Obj(fields={"a": Str(), "b": Int()}, required=frozenset({"a"}), defaults={"b": 7})
    assert validate(spec, {"a": "x"}) == ({"a": "x", "b": 7}, [])
    _, problems = validate(spec, {"b": "seven", "c": 1})
    assert problems == [
        {"field": "b", "message": "must be an integer, not a string"},
        {"field": "c", "message": "is not a known field"},
        {"field": "a", "message": "is required"},
    ]


def test_paths_name_nested_fields_and_quote_odd_keys():
    spec = Obj(fields={"events": List(item=Obj(fields={"properties": Map()}))})
    body = {"events": [{"properties": {}}, {"properties": {"ok": 1, "a b": {"nested": 1}, "x.y": [1]}}]}
    _, problems = validate(spec, body)
    assert [problem["field"] for problem in problems] == ['events[1].properties["a b"]', 'events[1].properties["x.y"]']


def test_rules_run_only_on_a_clean_object():
    seen = []
    spec = Obj(fields={"n": Int()}, rules=(lambda value, path, problems: seen.append(value),))
    validate(spec, {"n": "bad"})
    assert seen == []
    validate(spec, {"n": 1})
    assert seen == [{"n": 1}]


def test_problems_are_capped():
    _, problems = validate(List(item=Int(), max_items=10_000), ["x"] * 5000)
    assert len(problems) == MAX_ERRORS


def test_nullable_and_text_checks():
    assert validate(Str(nullable=True), None) == (None, [])
    assert validate(Str(), None)[1][0]["message"] == "must be a string, not null"
    assert validate(Str(), "a\x00")[1][0]["message"] == "contains a NUL byte"
    assert validate(Str(), "\ud800")[1][0]["message"] == "contains an unpaired UTF-16 surrogate"
    assert validate(Str(), "é🚀") == ("é🚀", [])


def test_timestamps_clean_to_seconds():
    assert validate(Timestamp(iso=True), "2026-01-31T12:00:00Z") == (1769860800.0, [])
    assert validate(Timestamp(iso=True), 1769860800000) == (1769860800.0, [])
    assert "seconds" in validate(Timestamp(), 1769860800)[1][0]["message"]
    assert validate(Timestamp(), True)[1][0]["message"] == "must be milliseconds since the epoch, not a boolean"
