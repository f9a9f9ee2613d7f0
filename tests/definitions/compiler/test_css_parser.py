import pytest

from definitions.compiler import CompileError, parse_selector_list
from definitions.compiler.css import AttributeTest, Compound


def only_compound(text: str) -> Compound:
    (selector,) = parse_selector_list(text)
    assert len(selector.compounds) == 1
    return selector.compounds[0]


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("div", "div"),
        ("DIV", "DIV"),
        ("foreignObject", "foreignObject"),
        ("*", None),
        ("\\*", "*"),
        ("x-card", "x-card"),
    ],
)
def test_type_and_universal_selectors(text, tag):
    assert only_compound(text).tag == tag


def test_id_class_and_attribute_selectors_in_one_compound():
    compound = only_compound('a#cta.btn.btn-primary[data-plan="pro"][href]')
    assert compound.tag == "a"
    assert compound.ids == ["cta"]
    assert compound.classes == ["btn", "btn-primary"]
    assert compound.attributes == [AttributeTest("data-plan", "=", "pro"), AttributeTest("href", None)]


@pytest.mark.parametrize(
    ("text", "operator", "value"),
    [
        ("[a=v]", "=", "v"),
        ("[a^=v]", "^=", "v"),
        ("[a$=v]", "$=", "v"),
        ("[a*=v]", "*=", "v"),
        ("[a~=v]", "~=", "v"),
        ("[ a = 'x y' ]", "=", "x y"),
        ('[a="q\\"t"]', "=", 'q"t'),
        ("[a='\\31 x']", "=", "1x"),
        ('[a=""]', "=", ""),
        ("[a=-x]", "=", "-x"),
        ("[a", None, ""),  # CSS closes the block at the end of input, as the browser does
    ],
)
def test_attribute_operators_and_values(text, operator, value):
    (attribute,) = only_compound(text).attributes
    assert (attribute.operator, attribute.value) == (operator, value)


def test_case_insensitive_flag():
    (attribute,) = only_compound("[type=SUBMIT i]").attributes
    assert attribute.case_insensitive is True
    (attribute,) = only_compound("[type=SUBMIT I]").attributes
    assert attribute.case_insensitive is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#\\31 x", ["1x"]),  # a hex escape and its terminating space
        ("#a\\.b", ["a.b"]),
        ("#x\\:y", ["x:y"]),
        ("#sign\\ up", ["sign up"]),
        ("#--dash", ["--dash"]),
        ("#-x", ["-x"]),
        ("#é-id", ["é-id"]),
        ("#\\0", ["\ufffd"]),  # NUL escapes become U+FFFD
        ("#a\\", ["a\ufffd"]),  # an escape at the end of input too
    ],
)
def test_escaped_identifiers(text, expected):
    assert only_compound(text).ids == expected


@pytest.mark.parametrize(
    ("text", "classes"),
    [(".md\\:px-4", ["md:px-4"]), (".w-1\\/2", ["w-1/2"]), (".\\31 col", ["1col"]), (".-neg", ["-neg"])],
)
def test_escaped_class_names(text, classes):
    assert only_compound(text).classes == classes


def test_combinators_and_lists():
    selectors = parse_selector_list("nav > ul  li a , .x  >.y, p/* comment */ span")
    assert [s.combinators for s in selectors] == [[">", " ", " "], [">"], [" "]]
    assert [c.tag for c in selectors[0].compounds] == ["nav", "ul", "li", "a"]
    assert selectors[1].compounds[1].classes == ["y"]


def test_newlines_and_tabs_are_descendant_combinators():
    (selector,) = parse_selector_list("div\n\tspan")
    assert selector.combinators == [" "]


@pytest.mark.parametrize(
    ("text", "message", "position"),
    [
        ("", "The selector is empty", 0),
        ("   ", "The selector is empty", 3),
        ("a:hover", "Pseudo-classes are not supported (':hover')", 1),
        ("a:not(.x)", "Pseudo-classes are not supported (':not(…)')", 1),
        ("li:nth-child(2)", "Pseudo-classes are not supported (':nth-child(…)')", 2),
        ("a::before", "Pseudo-elements are not supported ('::before')", 1),
        ("a:before", "Pseudo-elements are not supported (':before')", 1),
        ("a + b", "The adjacent sibling combinator '+' is not supported", 2),
        ("a ~ b", "The general sibling combinator '~' is not supported", 2),
        ("a || b", "The column combinator '||' is not supported", 2),
        ("svg|rect", "Namespaces ('|') are not supported", 0),
        ("*|a", "Namespaces ('|') are not supported", 0),
        ("|a", "Namespaces ('|') are not supported", 0),
        ("[xlink|href]", "Namespaces in attribute selectors are not supported", 1),
        ("[*|href]", "Namespaces in attribute selectors are not supported", 1),
        ("[lang|=en]", "The attribute operator '|=' is not supported", 5),
        ("[a=b s]", "The case-sensitivity flag 's' is not supported", 5),
        ("[a=b x]", "Unknown attribute selector flag 'x'", 5),
        ("[style*=red]", "The attribute [style] is not captured by heap.js", 1),
        ("[value=x]", "The attribute [value] is not captured by heap.js", 1),
        ("[onclick]", "The attribute [onclick] is not captured by heap.js", 1),
        ("[srcdoc]", "The attribute [srcdoc] is not captured by heap.js", 1),
        ("[data-id=1]", "Expected an attribute value, found '1' (quote it", 9),
        ("[a=]", "Expected an attribute value, found ']'", 3),
        ("[=a]", "Expected an attribute name, found '='", 1),
        ("[a=b c]", "Unknown attribute selector flag 'c'", 5),
        ("[a=b 'c']", "Expected ']' to close the attribute selector, found a string", 5),
        ("[a!=b]", "Unknown attribute operator '!'", 2),
        ('[a="x\ny"]', "Unterminated string", 3),
        ("#1x", "'#1x' is not a valid id selector", 0),
        ("#", "Unexpected '#'", 0),
        (".", "Expected a class name after '.', found end of selector", 1),
        (".5", "'.5' is not a valid class selector", 0),
        ("a.", "Expected a class name after '.', found end of selector", 2),
        ("> a", "The selector cannot start with the combinator '>'", 0),
        ("a >", "The combinator '>' has nothing after it", 3),
        ("a > > b", "Two combinators in a row ('>')", 4),
        ("a,", "Empty selector in the list", 2),
        (",a", "Empty selector in the list", 0),
        ("a,,b", "Empty selector in the list", 2),
        ("[x]div", "The type selector 'div' must come first", 3),
        (".a*", "The type selector '*' must come first", 2),
        ("a{}", "Unexpected '{'", 1),
        ("div(", "Unexpected 'div('", 0),
        ("a;", "Unexpected ';'", 1),
        ("@media", "Unexpected '@media'", 0),
        ("a!", "Unexpected '!'", 1),
    ],
)
def test_rejected_selectors_name_the_problem_and_its_position(text, message, position):
    with pytest.raises(CompileError) as caught:
        parse_selector_list(text)
    assert message in caught.value.message
    assert caught.value.position == position
    assert f"at character {position + 1}" in caught.value.message


def test_overlong_and_non_string_selectors_are_rejected():
    with pytest.raises(CompileError, match="longer than 4096"):
        parse_selector_list("a" * 5000)
    with pytest.raises(CompileError, match="must be a string"):
        parse_selector_list(None)
