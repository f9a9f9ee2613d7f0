"""Parsed CSS selectors -> one SQL boolean over a raw_events row `e` (its target and hierarchy).

Browser semantics (Chromium's SelectorChecker, HTML documents in standards mode):
- type selectors compare ASCII-lowercased with HTML elements' names and ASCII case-insensitively
  with SVG/MathML elements' (those carry `ns` in the hierarchy), so `foreignobject` matches;
- attribute names compare ASCII case-insensitively; values case-sensitively, except the HTML
  attributes listed in LEGACY_CASE_INSENSITIVE on HTML elements, and selectors with the `i` flag;
- `[a^=""]`, `[a$=""]`, `[a*=""]` match nothing, nor does `[a~=v]` when v is empty or has whitespace.

Cheap checks come first: the target's type/id/classes are plain columns (`target_classes @> …`),
then fixed positions of the hierarchy for `>` chains, then a jsonb containment pre-filter, and only
then a walk of the hierarchy for descendant combinators (earliest placement of each `>` segment,
which is exact because later segments only need to start above it).
"""

import json

from psycopg2 import sql

from warehouse.citus import citus_active

from .css import Complex, Compound, ascii_lower
from .errors import CompileError
from .params import Params

# HTML's attributes whose values selectors match ASCII case-insensitively in HTML documents
# (HTML Standard "Case-sensitivity of selectors"; on HTML elements only, as Chromium does).
LEGACY_CASE_INSENSITIVE = frozenset(
    [
        "accept",
        "accept-charset",
        "align",
        "alink",
        "axis",
        "bgcolor",
        "charset",
        "checked",
        "clear",
        "codetype",
        "color",
        "compact",
        "declare",
        "defer",
        "dir",
        "direction",
        "disabled",
        "enctype",
        "face",
        "frame",
        "hreflang",
        "http-equiv",
        "lang",
        "language",
        "link",
        "media",
        "method",
        "multiple",
        "nohref",
        "noresize",
        "noshade",
        "nowrap",
        "readonly",
        "rel",
        "rev",
        "rules",
        "scope",
        "scrolling",
        "selected",
        "shape",
        "target",
        "text",
        "type",
        "valign",
        "valuetype",
        "vlink",
    ]
)

# The HTML parser's camelCase SVG element names ("adjust SVG tag names"), lowercased; every other
# parsed element name is lowercase. Chromium compares type selectors with non-HTML elements
# case-insensitively, so only these names can differ in case from the selector.
CAMEL_CASE_FOREIGN_TAGS = frozenset(
    name.lower()
    for name in [
        "altGlyph",
        "altGlyphDef",
        "altGlyphItem",
        "animateColor",
        "animateMotion",
        "animateTransform",
        "clipPath",
        "feBlend",
        "feColorMatrix",
        "feComponentTransfer",
        "feComposite",
        "feConvolveMatrix",
        "feDiffuseLighting",
        "feDisplacementMap",
        "feDistantLight",
        "feDropShadow",
        "feFlood",
        "feFuncA",
        "feFuncB",
        "feFuncG",
        "feFuncR",
        "feGaussianBlur",
        "feImage",
        "feMerge",
        "feMergeNode",
        "feMorphology",
        "feOffset",
        "fePointLight",
        "feSpecularLighting",
        "feSpotLight",
        "feTile",
        "feTurbulence",
        "foreignObject",
        "glyphRef",
        "linearGradient",
        "radialGradient",
        "textPath",
    ]
)

TRUE = sql.SQL("TRUE")
FALSE = sql.SQL("FALSE")
TARGET = sql.SQL("e.hierarchy -> 0")

# Positions of the hierarchy checked without a subquery for `A > B C`-style selectors (deeper
# hierarchies still match exactly, through the general walk).
UNROLL_DEPTH = 16
MAX_HIERARCHY = 512  # docs/api.md: deeper hierarchies are rejected at ingestion

# Cost classes used to order AND-ed checks; PostgreSQL evaluates AND arguments left to right.
COST_COLUMN, COST_FIXED, COST_CONTAINS, COST_SUBQUERY, COST_WALK = 1, 2, 3, 4, 5


def lower_sql(expr: sql.Composable) -> sql.Composable:
    # lower() follows the collation (folds "É"); CSS only folds ASCII.
    return sql.SQL("translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')").format(expr)


def ascii_case_insensitive_regex(text: str) -> str:
    """A regex matching exactly `text` up to ASCII case: `viewbox` -> `^[vV][iI]…$`.

    The regex engine's own case-insensitive flag follows the database locale and folds "É" to "é"
    and the Kelvin sign to "k"; browsers compare attribute names ASCII case-insensitively.
    """
    out = []
    for ch in text:
        if ch.isascii() and ch.isalpha():
            out.append(f"[{ch.lower()}{ch.upper()}]")
        elif ch.isascii() and not ch.isalnum():
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "^" + "".join(out) + "$"


def not_null(expr: sql.Composable) -> sql.Composable:
    """NULL (a missing hierarchy element or key) counts as no match, so predicates stay two-valued.

    Wrapping each leaf rather than the whole predicate keeps the top-level AND visible to the
    planner (selectivity estimates, cheapest-first ordering, parallel plans).
    """
    return sql.SQL("COALESCE({}, FALSE)").format(expr)


def and_sql(conditions: list[sql.Composable]) -> sql.Composable:
    if not conditions:
        return TRUE
    if len(conditions) == 1:
        return conditions[0]
    return sql.SQL("({})").format(sql.SQL(" AND ").join(conditions))


def or_sql(conditions: list[sql.Composable]) -> sql.Composable:
    if len(conditions) == 1:
        return conditions[0]
    return sql.SQL("({})").format(sql.SQL(" OR ").join(conditions))


class _Slot:
    """One element of the hierarchy: its jsonb expression, and whether it is the event's target."""

    def __init__(self, element: sql.Composable, *, is_target: bool = False):
        self.element = element
        self.is_target = is_target


class SelectorCompiler:
    def __init__(self, params: Params):
        self.params = params
        self.alias_count = 0

    def p(self, value) -> sql.Composable:
        return self.params.add(value)

    # ---- one compound selector on one element ------------------------------------------------

    def compound(self, compound: Compound, slot: _Slot) -> list[tuple[int, sql.Composable]]:
        el = slot.element
        conditions: list[tuple[int, sql.Composable]] = []
        if compound.tag:
            conditions += self.type_selector(ascii_lower(compound.tag), slot)
        ids = list(dict.fromkeys(compound.ids))
        if len(ids) > 1:
            return [(0, FALSE)]  # one element has one id
        if ids:
            if slot.is_target:
                conditions.append((COST_COLUMN, sql.SQL("e.target_id = {}").format(self.p(ids[0]))))
            else:
                conditions.append((COST_FIXED, sql.SQL("{} ->> 'id' = {}").format(el, self.p(ids[0]))))
        classes = list(dict.fromkeys(compound.classes))
        if classes:
            if slot.is_target:
                check = sql.SQL("e.target_classes @> {}::text[]").format(self.p(classes))
                conditions.append((COST_COLUMN, check))
            else:
                check = sql.SQL("{} -> 'classes' ?& {}::text[]").format(el, self.p(classes))
                conditions.append((COST_FIXED, check))
        for attribute in compound.attributes:
            conditions.append(self.attribute(attribute, slot))
        if not conditions and not slot.is_target:
            # `*` still needs an element there: html has no parent element.
            conditions.append((COST_FIXED, sql.SQL("{} IS NOT NULL").format(el)))
        return [(cost, part if cost == COST_COLUMN or part is FALSE else not_null(part)) for cost, part in conditions]

    def type_selector(self, name: str, slot: _Slot) -> list[tuple[int, sql.Composable]]:
        el = slot.element
        column = sql.SQL("e.target_tag") if slot.is_target else sql.SQL("({} ->> 'tag')").format(el)
        cost = COST_COLUMN if slot.is_target else COST_FIXED
        equal = sql.SQL("{} = {}").format(column, self.p(name))
        if name not in CAMEL_CASE_FOREIGN_TAGS:
            return [(cost, equal)]
        # SVG elements keep camelCase (foreignObject) yet match type selectors case-insensitively.
        foreign = sql.SQL("({} = {} AND {} ? 'ns')").format(lower_sql(column), self.p(name), el)
        return [(cost, not_null(sql.SQL("({} OR {})").format(equal, foreign)))]

    def attribute_value(self, name: str, slot: _Slot) -> tuple[int, sql.Composable]:
        el = slot.element
        if name == "id":
            return COST_FIXED, sql.SQL("({} ->> 'id')").format(el)
        if name == "class":
            # The raw attribute is kept only when the class list cannot rebuild it (docs/api.md).
            if slot.is_target:
                joined = sql.SQL("NULLIF(array_to_string(e.target_classes, ' '), '')")
            else:
                joined = sql.SQL(
                    "(SELECT string_agg(c.v, ' ' ORDER BY c.n) FROM jsonb_array_elements_text({} -> 'classes')"
                    " WITH ORDINALITY AS c(v, n))"
                ).format(el)
            return COST_SUBQUERY, sql.SQL("COALESCE({} -> 'attrs' ->> 'class', {})").format(el, joined)
        # SVG/MathML attribute names keep their case (viewBox) yet match ASCII case-insensitively;
        # jsonpath rather than a subquery keeps the predicate parallel-safe.
        path = f"$.keyvalue() ? (@.key like_regex {json.dumps(ascii_case_insensitive_regex(name), ensure_ascii=False)}).value"
        foreign = sql.SQL(
            "CASE WHEN {el} ? 'ns' THEN jsonb_path_query_first({el} -> 'attrs', {path}::jsonpath) #>> '{{}}' END"
        )
        foreign = foreign.format(el=el, path=self.p(path))
        return COST_FIXED, sql.SQL("COALESCE({} -> 'attrs' ->> {}, {})").format(el, self.p(name), foreign)

    def attribute(self, attribute, slot: _Slot) -> tuple[int, sql.Composable]:
        name = ascii_lower(attribute.name)
        cost, value = self.attribute_value(name, slot)
        operator, wanted = attribute.operator, attribute.value
        if operator is None:
            return cost, sql.SQL("{} IS NOT NULL").format(value)
        if operator in ("^=", "$=", "*=") and wanted == "":
            return 0, FALSE
        if operator == "~=" and (wanted == "" or any(ch in " \t\n\r\f" for ch in wanted)):
            return 0, FALSE
        if attribute.case_insensitive:
            value, wanted = lower_sql(value), ascii_lower(wanted)
        elif name in LEGACY_CASE_INSENSITIVE:
            # Case-insensitive on HTML elements only (SVG's `type` stays case-sensitive).
            sensitive = self.value_test(operator, value, wanted)
            insensitive = self.value_test(operator, lower_sql(value), ascii_lower(wanted))
            test = sql.SQL("(CASE WHEN {} ? 'ns' THEN {} ELSE {} END)").format(slot.element, sensitive, insensitive)
            return cost, test
        return cost, self.value_test(operator, value, wanted)

    def value_test(self, operator: str, value: sql.Composable, wanted: str) -> sql.Composable:
        if operator == "=":
            return sql.SQL("{} = {}").format(value, self.p(wanted))
        if operator == "^=":
            return sql.SQL("starts_with({}, {})").format(value, self.p(wanted))
        if operator == "$=":
            placeholder = self.p(wanted)
            return sql.SQL("right({}, char_length({})) = {}").format(value, placeholder, placeholder)
        if operator == "*=":
            return sql.SQL("strpos({}, {}) > 0").format(value, self.p(wanted))
        # ~= : one of the whitespace-separated words (HTML's ASCII whitespace).
        spaced = sql.SQL("(' ' || translate({}, {}, '    ') || ' ')").format(value, sql.Literal("\t\n\r\f"))
        return sql.SQL("strpos({}, {}) > 0").format(spaced, self.p(f" {wanted} "))

    # ---- complex selectors -----------------------------------------------------------------------

    def complex(self, selector: Complex) -> sql.Composable:
        # Split at descendant combinators: each segment is a run of `>`-joined compounds.
        segments: list[list[Compound]] = [[selector.compounds[0]]]
        for combinator, compound in zip(selector.combinators, selector.compounds[1:], strict=True):
            if combinator == ">":
                segments[-1].append(compound)
            else:
                segments.append([compound])
        conditions: list[tuple[int, sql.Composable]] = []
        anchored = segments[-1]
        for depth, compound in enumerate(reversed(anchored)):
            slot = (
                _Slot(TARGET, is_target=True)
                if depth == 0
                else _Slot(sql.SQL("e.hierarchy -> {}").format(sql.Literal(depth)))
            )
            conditions += self.compound(compound, slot)
        floating = segments[:-1]
        if floating:
            only = floating[0][0] if len(floating) == 1 and len(floating[0]) == 1 else None
            # `A B` (the common case): one parallel-safe jsonpath scan of the ancestors, no subquery.
            walk = self.jsonpath_exists(only, start=len(anchored)) if only is not None else None
            if walk is None and len(floating) > 2 and citus_active():
                # Citus cannot run the subquery walk past two steps (a correlated subquery inside one
                # over the hierarchy's elements): the jsonpath walk, where the compounds allow it.
                walk = self.jsonpath_walk(floating, len(anchored))
                if walk is None:
                    raise CompileError(
                        "on this Citus cluster a selector may have at most two descendant steps (a space)"
                        " above the element unless every step uses only tags, ids and classes:"
                        " drop attribute tests from the ancestors or join some steps with '>'"
                    )
            if walk is None:
                # Fixed positions are cheap; searching the whole hierarchy (containment, jsonpath) is not.
                walk = self.unrolled_placement(floating, len(anchored))
            if walk is None:
                prefilter = self.containment([c for segment in floating for c in segment])
                if prefilter is not None:
                    conditions.append((COST_CONTAINS, prefilter))
                walk = self.placement(floating, len(anchored))
            conditions.append((COST_WALK, walk))
        conditions.sort(key=lambda item: item[0])
        if any(sql_part is FALSE for _, sql_part in conditions):
            return FALSE
        cheap = [part for cost, part in conditions if cost <= COST_COLUMN]
        costly = [part for cost, part in conditions if cost > COST_COLUMN]
        if cheap and costly:
            # PostgreSQL reorders the top-level ANDs of a WHERE by its own cost guesses, which rate a
            # jsonpath search like a column compare; a CASE keeps the hierarchy checks behind the cheap ones.
            return sql.SQL("(CASE WHEN {} THEN {} ELSE FALSE END)").format(and_sql(cheap), and_sql(costly))
        return and_sql(cheap + costly)

    def containment(self, compounds: list[Compound]) -> sql.Composable | None:
        """`hierarchy @> [...]`: a necessary condition (ignores positions) that jsonb checks in C."""
        wanted = []
        for compound in compounds:
            item: dict = {}
            tag = ascii_lower(compound.tag or "")
            if tag and tag not in CAMEL_CASE_FOREIGN_TAGS:
                item["tag"] = tag
            if len(set(compound.ids)) == 1:
                item["id"] = compound.ids[0]
            if compound.classes:
                item["classes"] = list(dict.fromkeys(compound.classes))
            if item:
                wanted.append(item)
        if not wanted:
            return None
        return sql.SQL("e.hierarchy @> {}::jsonb").format(self.p(json.dumps(wanted, ensure_ascii=False)))

    def unrolled_placement(self, segments: list[list[Compound]], start: int) -> sql.Composable | None:
        """The walk for up to two floating segments without a subquery in the common case.

        The nearest segment's earliest position is a CASE over fixed positions up to UNROLL_DEPTH; a
        leftmost one-compound segment is then a jsonpath search above it. Only hierarchies deeper
        than UNROLL_DEPTH fall back to the general walk.
        """
        if len(segments) > 2 or (len(segments) == 2 and len(segments[0]) != 1):
            return None
        nearest = segments[-1]
        whens = []
        for position in range(start, UNROLL_DEPTH):
            conditions = []
            for offset, compound in enumerate(reversed(nearest)):
                slot = _Slot(sql.SQL("e.hierarchy -> {}").format(sql.Literal(position + offset)))
                conditions += self.compound(compound, slot)
            conditions.sort(key=lambda item: item[0])
            match = and_sql([part for _, part in conditions])
            whens.append(sql.SQL("WHEN {} THEN {}").format(match, sql.Literal(position)))
        if not whens:
            return None
        earliest = sql.SQL("(CASE {} END)").format(sql.SQL(" ").join(whens))
        if len(segments) == 1:
            found = sql.SQL("({} IS NOT NULL)").format(earliest)
        else:
            above = sql.SQL("jsonb_build_object('s', {} + {})").format(earliest, sql.Literal(len(nearest)))
            found = self.jsonpath_exists(segments[0][0], start=above)
            if found is None:
                return None
        deep_walk = self.jsonpath_walk(segments, start) or self.placement(segments, start)
        deep = sql.SQL("(jsonb_array_length(e.hierarchy) > {} AND {})").format(sql.Literal(UNROLL_DEPTH), deep_walk)
        return sql.SQL("({} OR {})").format(found, deep)

    @staticmethod
    def jsonpath_tests(compound: Compound, element: str, key: str) -> tuple[list[str], dict] | None:
        """jsonpath tests of `compound` on `element` (e.g. "@" or "$[@ + 1]"), variables named after `key`."""
        tag = ascii_lower(compound.tag or "")
        if compound.attributes or tag in CAMEL_CASE_FOREIGN_TAGS or len(set(compound.ids)) > 1:
            return None
        tests, variables = [], {}
        if tag:
            variables[f"{key}t"] = tag
            tests.append(f"{element}.tag == ${key}t")
        for value in compound.ids[:1]:
            variables[f"{key}i"] = value
            tests.append(f"{element}.id == ${key}i")
        for n, value in enumerate(dict.fromkeys(compound.classes)):
            variables[f"{key}c{n}"] = value
            tests.append(f"{element}.classes[*] == ${key}c{n}")
        if not tests:
            tests.append(f"exists({element}.tag)")
        return tests, variables

    def jsonpath_exists(self, compound: Compound, *, start: int | sql.Composable) -> sql.Composable | None:
        """Some element at index >= start matches `compound`, as jsonb_path_exists; None if not expressible."""
        found = self.jsonpath_tests(compound, "@", "")
        if found is None:
            return None
        tests, variables = found
        condition = " && ".join(tests)
        if isinstance(start, int):
            path = f"$[{start} to last] ? ({condition})"
            return sql.SQL("jsonb_path_exists(e.hierarchy, {}::jsonpath, {}::jsonb)").format(
                self.p(path), self.p(json.dumps(variables, ensure_ascii=False))
            )
        # A start computed per row (NULL when nothing below matched: silent, so no error).
        path = f"$[$s to last] ? ({condition})"
        return not_null(
            sql.SQL("jsonb_path_exists(e.hierarchy, {}::jsonpath, {} || {}::jsonb, TRUE)").format(
                self.p(path), start, self.p(json.dumps(variables, ensure_ascii=False))
            )
        )

    def jsonpath_walk(self, segments: list[list[Compound]], start: int) -> sql.Composable | None:
        """The general walk as jsonpath (no subquery, parallel-safe, slower): earliest positions by
        filtering a list of indices. None when a compound is not expressible in jsonpath."""
        position: sql.Composable = sql.Literal(start)
        for segment in reversed(segments):
            tests, variables = [], {"idx": list(range(MAX_HIERARCHY))}
            for offset, compound in enumerate(reversed(segment)):
                found = self.jsonpath_tests(compound, f"$[@ + {offset}]" if offset else "$[@]", f"k{offset}")
                if found is None:
                    return None
                tests += found[0]
                variables.update(found[1])
            path = f"$idx[*] ? (@ >= $s && {' && '.join(tests)})"
            first = sql.SQL(
                "(jsonb_path_query_first(e.hierarchy, {}::jsonpath, jsonb_build_object('s', {}) || {}::jsonb, TRUE))::int"
            )
            first = first.format(self.p(path), position, self.p(json.dumps(variables, ensure_ascii=False)))
            position = sql.SQL("({} + {})").format(first, sql.Literal(len(segment)))
        return sql.SQL("({} IS NOT NULL)").format(position)

    def placement(self, segments: list[list[Compound]], start: int) -> sql.Composable:
        """Segments (leftmost first) placed, nearest the target first, each at its earliest position."""
        start_sql: sql.Composable = sql.Literal(start)
        for number, segment in enumerate(reversed(segments)):
            self.alias_count += 1
            alias = sql.Identifier(f"h{self.alias_count}")
            conditions = [(0, sql.SQL("{}.i > {}").format(alias, start_sql))]
            for offset, compound in enumerate(reversed(segment)):
                if offset == 0:
                    element = sql.SQL("{}.el").format(alias)
                else:
                    element = sql.SQL("e.hierarchy -> ({}.i::int + {})").format(alias, sql.Literal(offset - 1))
                conditions += self.compound(compound, _Slot(element))
            conditions.sort(key=lambda item: item[0])
            where = and_sql([part for _, part in conditions])
            source = sql.SQL("FROM jsonb_array_elements(e.hierarchy) WITH ORDINALITY AS {}(el, i) WHERE {}")
            source = source.format(alias, where)
            if number == len(segments) - 1:
                return sql.SQL("EXISTS (SELECT 1 {})").format(source)
            # The next segment must start above this one's leftmost compound.
            start_sql = sql.SQL("((SELECT min({}.i) {}) + {})").format(alias, source, sql.Literal(len(segment) - 1))
        raise AssertionError("unreachable")

    def selector_list(self, selectors: list[Complex]) -> sql.Composable:
        parts = [self.complex(selector) for selector in selectors]
        parts = [part for part in parts if part is not FALSE]
        if not parts:
            return FALSE
        return or_sql(parts)
