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

from .css import Complex, Compound, ascii_lower
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

# Cost classes used to order AND-ed checks; PostgreSQL evaluates AND arguments left to right.
COST_COLUMN, COST_FIXED, COST_CONTAINS, COST_SUBQUERY, COST_WALK = 1, 2, 3, 4, 5


def lower_sql(expr: sql.Composable) -> sql.Composable:
    # lower() follows the collation (folds "É"); CSS only folds ASCII.
    return sql.SQL("translate({}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')").format(expr)


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
        if compound.tag and compound.tag != "*":
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
        return conditions

    def type_selector(self, name: str, slot: _Slot) -> list[tuple[int, sql.Composable]]:
        el = slot.element
        column = sql.SQL("e.target_tag") if slot.is_target else sql.SQL("({} ->> 'tag')").format(el)
        cost = COST_COLUMN if slot.is_target else COST_FIXED
        equal = sql.SQL("{} = {}").format(column, self.p(name))
        if name not in CAMEL_CASE_FOREIGN_TAGS:
            return [(cost, equal)]
        # SVG elements keep camelCase (foreignObject) yet match type selectors case-insensitively.
        foreign = sql.SQL("({} = {} AND {} ? 'ns')").format(lower_sql(column), self.p(name), el)
        return [(cost, sql.SQL("({} OR {})").format(equal, foreign))]

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
        # SVG/MathML attribute names keep their case (viewBox) yet match case-insensitively.
        foreign = sql.SQL(
            "CASE WHEN {el} ? 'ns' THEN (SELECT a.value FROM jsonb_each_text({el} -> 'attrs') AS a"
            " WHERE {key} = {name} LIMIT 1) END"
        ).format(el=el, key=lower_sql(sql.SQL("a.key")), name=self.p(name))
        return COST_SUBQUERY, sql.SQL("COALESCE({} -> 'attrs' ->> {}, {})").format(el, self.p(name), foreign)

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
            prefilter = self.containment([c for segment in floating for c in segment])
            if prefilter is not None:
                conditions.append((COST_CONTAINS, prefilter))
            walk = self.placement(floating, len(anchored))
            only = floating[0][0] if len(floating) == 1 and len(floating[0]) == 1 else None
            if prefilter is not None and only is not None and self.containment_is_exact(only):
                # `A B`: containment already proves an A somewhere; it is the right place unless the
                # only A might be the target or its `>` parents, so walk only when one of those is an A.
                below = [
                    self.compound(only, _Slot(sql.SQL("e.hierarchy -> {}").format(sql.Literal(depth))))
                    for depth in range(len(anchored))
                ]
                near = or_sql([and_sql([part for _, part in conds]) for conds in below])
                walk = sql.SQL("(NOT COALESCE({}, TRUE) OR {})").format(near, walk)
            conditions.append((COST_WALK, walk))
        conditions.sort(key=lambda item: item[0])
        if any(sql_part is FALSE for _, sql_part in conditions):
            return FALSE
        return and_sql([part for _, part in conditions])

    def containment(self, compounds: list[Compound]) -> sql.Composable | None:
        """`hierarchy @> [...]`: a necessary condition (ignores positions) that jsonb checks in C."""
        wanted = []
        for compound in compounds:
            item: dict = {}
            tag = ascii_lower(compound.tag or "*")
            if tag != "*" and tag not in CAMEL_CASE_FOREIGN_TAGS:
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

    @staticmethod
    def containment_is_exact(compound: Compound) -> bool:
        """Whether `containment([compound])` holds exactly when some element matches the compound."""
        tag = ascii_lower(compound.tag or "*")
        tag_ok = tag == "*" or tag not in CAMEL_CASE_FOREIGN_TAGS
        return tag_ok and len(set(compound.ids)) <= 1 and not compound.attributes

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
