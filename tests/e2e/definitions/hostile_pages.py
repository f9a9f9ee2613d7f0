"""Page kinds from the hostile browser-oracle run of issue 26, with selectors aimed at each.

- foreign: SVG/MathML with the attributes the HTML parser puts in the XLink/XML/XMLNS namespaces
  (xlink:href, xml:lang, xmlns), the same qualified names as plain attributes on HTML elements,
  and attributes scripts set in other namespaces or with upper-case letters;
- unicode-names: attribute names whose letters fold differently in Unicode and in ASCII (É/é, the
  Kelvin sign, ẞ/ß, Σ/σ/ς, ı/I/İ) on HTML and SVG elements;
- deep: trees 45 to 70 elements deep, under chains of up to 14 compound selectors;
- whitespace: class lists and ids with Unicode spaces that HTML does not split on (U+00A0, U+3000…);
- non-latin: long CJK, emoji (astral), Cyrillic, Arabic and combining-character values.

Each kind gives pages (HTML, scripts included) and selectors; every selector the compiler accepts
must match exactly the elements `element.matches()` matches.
"""

import html
import random

from .oracle import css_escape, css_string, mutate

XLINK = "http://www.w3.org/1999/xlink"
XML = "http://www.w3.org/XML/1998/namespace"
OPERATORS = [None, "=", "=", "^=", "$=", "*=", "~="]


def attribute_selector(rng: random.Random, name_source: str, values: list[str]) -> str:
    operator = rng.choice(OPERATORS)
    if operator is None:
        return f"[{name_source}]"
    value = rng.choice(values)
    if value and rng.random() < 0.4:
        start = rng.randint(0, len(value) - 1)
        value = value[start : rng.randint(start + 1, len(value))]
    flag = " i" if rng.random() < 0.15 else ""
    return f"[{name_source}{operator}{css_string(value, rng)}{flag}]"


def attrs_markup(rng: random.Random, names: list[str], values: list[str], most: int = 3) -> str:
    return "".join(
        f' {name}="{html.escape(rng.choice(values), quote=True)}"' for name in rng.sample(names, rng.randint(0, most))
    )


def page(body: str, script: str = "") -> str:
    head = '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>oracle</title></head>'
    return f"{head}<body>{body}<script>{script}</script></body></html>"


# ---- foreign: namespaced attributes ---------------------------------------------------------------

FOREIGN_NAMES = ["xlink:href", "xlink:title", "xml:lang", "xml:space", "xmlns", "xmlns:xlink"]
FOREIGN_VALUES = ["#a", "#b", "en", "EN", "preserve", "http://www.w3.org/2000/svg", XLINK, "x y", ""]
FOREIGN_SELECTOR_NAMES = [*FOREIGN_NAMES, "href", "lang", "title", "space", "x:title", "data-k", "Data-K", "viewbox"]
# Applied after parsing: other namespaces (with and without a prefix, the same local names as plain
# attributes), the XLink/XML namespaces on HTML elements, and a plain name with upper-case letters.
FOREIGN_SCRIPT = f"""
document.body.querySelectorAll("*").forEach((el, i) => {{
  if (i % 3 === 0) el.setAttributeNS("urn:x", "x:title", "ns " + i);
  if (i % 4 === 1) el.setAttributeNS("urn:y", "href", "#a");
  if (i % 5 === 2) el.setAttributeNS(null, "Data-K", "v");
  if (i % 7 === 3) el.setAttributeNS("{XLINK}", "xlink:href", "#b");
  if (i % 6 === 4) el.setAttributeNS("{XML}", "xml:lang", "en");
}});
"""


class ForeignKind:
    html_tags = ["div", "a", "span", "p"]
    svg_tags = ["a", "use", "text", "g", "rect"]
    math_tags = ["mi", "mo", "mtext"]

    def __init__(self, rng: random.Random):
        self.rng = rng

    def attrs(self, extra: list[str]) -> str:
        return attrs_markup(self.rng, FOREIGN_NAMES + extra, FOREIGN_VALUES)

    def html_element(self, depth: int) -> str:
        rng = self.rng
        if depth > 1 and rng.random() < 0.25:
            return self.svg(depth)
        if depth > 1 and rng.random() < 0.15:
            return self.math()
        tag = rng.choice(self.html_tags)
        children = "".join(self.html_element(depth + 1) for _ in range(rng.choice([1, 2, 2]) if depth < 4 else 0))
        return f"<{tag}{self.attrs(['href', 'lang', 'title'])}>t{children}</{tag}>"

    def svg(self, depth: int) -> str:
        rng = self.rng
        inner = ""
        for _ in range(rng.randint(1, 3)):
            tag = rng.choice(self.svg_tags)
            child = f"<rect{self.attrs(['href'])}></rect>" if tag in ("a", "g") and rng.random() < 0.5 else ""
            inner += f"<{tag}{self.attrs(['href', 'lang'])}>{child}</{tag}>"
        if rng.random() < 0.3:
            inner += f"<foreignObject>{self.html_element(depth + 3)}</foreignObject>"
        return f'<svg viewBox="0 0 9 9"{self.attrs(["href"])}>{inner}</svg>'

    def math(self) -> str:
        leaves = "".join(f"<{tag}{self.attrs(['href'])}>x</{tag}>" for tag in self.rng.sample(self.math_tags, 2))
        return f"<math{self.attrs([])}><mrow{self.attrs([])}>{leaves}</mrow></math>"

    def page(self) -> str:
        return page("".join(self.html_element(1) for _ in range(4)), FOREIGN_SCRIPT)

    def selector(self) -> str:
        rng = self.rng
        tags = [*self.html_tags, *self.svg_tags, *self.math_tags, "svg", "math", "mrow", "*", ""]
        compounds = []
        for _ in range(rng.choice([1, 1, 1, 2])):
            tag = rng.choice(tags) if rng.random() < 0.5 else ""
            name = rng.choice(FOREIGN_SELECTOR_NAMES)
            name = name.upper() if rng.random() < 0.15 else name
            compound = css_escape(tag, rng) if tag not in ("*", "") else tag
            if rng.random() < 0.4:
                compound += f"[{css_escape(name, rng)}]"
            else:
                compound += attribute_selector(rng, css_escape(name, rng), FOREIGN_VALUES + ["v", "ns 3"])
            compounds.append(compound)
        return rng.choice([" ", " > "]).join(compounds)

    # The examples, always in the run.
    fixed = [
        "[xlink\\:href]",
        "[xmlns]",
        "[xml\\:lang]",
        "svg [xlink\\:href]",
        "math [xml\\:lang]",
        '[xlink\\:href="#a"]',
    ]


# ---- unicode-names: ASCII-only case folding of attribute names ----------------------------------

UNICODE_NAMES = [
    "data-é",
    "data-É",
    "data-\u212a",  # Kelvin sign: Unicode lower-cases it to "k"
    "data-k",
    "data-ß",
    "data-\u1e9e",  # capital sharp s
    "data-σ",
    "data-Σ",
    "data-ς",
    "data-ı",  # dotless i: Unicode upper-cases it to "I"
    "data-i",
    "data-İ",
    "data-ǅ",
    "データ",
    "ünï",
]
UNICODE_VALUES = ["1", "é", "É", "K", "k", ""]
# Plain attributes with upper-case ASCII letters, set by script (the HTML parser lower-cases them).
UNICODE_SCRIPT = """
document.body.querySelectorAll("*").forEach((el, i) => {
  if (i % 4 === 0) el.setAttributeNS(null, "DATA-é", "s");
  if (i % 5 === 1) el.setAttributeNS(null, "Data-K", "s");
  if (i % 6 === 2) el.setAttributeNS(null, "data-\\u212A", "s");
});
"""


def ascii_upper(text: str) -> str:
    return "".join(ch.upper() if ch.isascii() else ch for ch in text)


class UnicodeNamesKind:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def element(self, depth: int) -> str:
        rng = self.rng
        attrs = attrs_markup(rng, UNICODE_NAMES, UNICODE_VALUES)
        if depth > 1 and rng.random() < 0.35:
            shapes = "".join(
                f"<{tag}{attrs_markup(rng, UNICODE_NAMES, UNICODE_VALUES)}></{tag}>"
                for tag in rng.sample(["rect", "circle", "text", "g"], 2)
            )
            return f'<svg viewBox="0 0 9 9"{attrs}>{shapes}</svg>'
        tag = rng.choice(["div", "span", "p", "a"])
        children = "".join(self.element(depth + 1) for _ in range(rng.choice([0, 1, 2]) if depth < 5 else 0))
        return f"<{tag}{attrs}>t{children}</{tag}>"

    def page(self) -> str:
        return page("".join(self.element(1) for _ in range(4)), UNICODE_SCRIPT)

    def name_source(self) -> str:
        rng = self.rng
        name = rng.choice(UNICODE_NAMES + ["viewbox", "DATA-é"])
        roll = rng.random()
        if roll < 0.2:
            name = ascii_upper(name)
        elif roll < 0.35:
            name = name.upper()  # Unicode upper case: "DATA-É", "DATA-SS"
        elif roll < 0.45:
            name = name.lower()
        escaped = css_escape(name, rng)
        if rng.random() < 0.3:
            # the non-ASCII letters as hex escapes: [data-\212A ]
            escaped = "".join(f"\\{ord(ch):x} " if not ch.isascii() else ch for ch in escaped)
        return escaped

    def selector(self) -> str:
        rng = self.rng
        tag = rng.choice(["", "", "div", "rect", "svg", "*"])
        out = tag + attribute_selector(rng, self.name_source(), UNICODE_VALUES + ["s"])
        if rng.random() < 0.3:
            out = rng.choice(["svg ", "div ", "* > "]) + out
        return out

    fixed = ["[data-é]", "[data-\\212A]", "[data-\\1E9E]", "[data-Σ]", "[data-I]", "[data-k]", "[data-K]", "[viewbox]"]


# ---- deep: long chains in deep trees ------------------------------------------------------------


class DeepKind:
    sizes = {"selectors": 120}  # every compiled chain walks every deep hierarchy: the slowest kind
    tags = ["div", "section", "span", "li"]
    classes = ["a", "b", "c"]

    def __init__(self, rng: random.Random):
        self.rng = rng

    def node(self, depth: int, bottom: int) -> str:
        rng = self.rng
        tag = rng.choice(self.tags)
        classes = " ".join(rng.sample(self.classes, rng.randint(0, 2)))
        attribute = f' class="{classes}"' if classes else ""
        if depth >= bottom:
            return f"<{tag}{attribute}>leaf</{tag}>"
        branch = f'<{tag} class="{rng.choice(self.classes)}">side</{tag}>' if rng.random() < 0.15 else ""
        return f"<{tag}{attribute}>{branch}{self.node(depth + 1, bottom)}</{tag}>"

    def page(self) -> str:
        return page(self.node(1, self.rng.randint(45, 70)))

    def compound(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.3:
            return rng.choice(self.tags)
        if roll < 0.6:
            return "." + rng.choice(self.classes)
        if roll < 0.9:
            return rng.choice(self.tags) + "." + rng.choice(self.classes)
        return "*"

    def selector(self) -> str:
        rng = self.rng
        parts = [self.compound()]
        for _ in range(rng.randint(2, 13)):
            parts.append(rng.choice([" ", " ", " ", " > "]) + self.compound())
        return "".join(parts)

    fixed = [" ".join(["div"] * 12), " ".join([".a"] * 14), "section > * .b " + " ".join(["*"] * 10)]


# ---- whitespace: Unicode spaces inside class tokens and ids --------------------------------------

SPACES = ["\u00a0", "\u3000", "\u2003", "\x0b", "\u200b", "\ufeff", "\u1680", "\u0085"]
WS_CLASSES = ["btn", "primary", "card", *(f"btn{space}primary" for space in SPACES[:4]), "x\u00a0", "\u3000y"]
WS_IDS = ["a\u00a0b", "c\u3000d", "e\u2003", "plain"]


class WhitespaceKind:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def class_attribute(self) -> str:
        rng = self.rng
        tokens = rng.sample(["btn", "primary", "card", "x", "y"], rng.randint(1, 3))
        raw = ""
        for index, token in enumerate(tokens):
            raw += token if index == 0 else rng.choice([" ", " ", "\t", *SPACES]) + token
        return raw

    def element(self, depth: int) -> str:
        rng = self.rng
        attrs = f' class="{html.escape(self.class_attribute(), quote=True)}"'
        if rng.random() < 0.3:
            attrs += f' id="{html.escape(rng.choice(WS_IDS), quote=True)}"'
        if rng.random() < 0.3:
            attrs += f' data-x="{html.escape(rng.choice(WS_CLASSES), quote=True)}"'
        if depth > 1 and rng.random() < 0.2:
            return f"<svg{attrs}><rect{attrs}></rect></svg>"
        tag = rng.choice(["div", "button", "span"])
        children = "".join(self.element(depth + 1) for _ in range(rng.choice([0, 1, 2]) if depth < 4 else 0))
        return f"<{tag}{attrs}>t{children}</{tag}>"

    def page(self) -> str:
        return page("".join(self.element(1) for _ in range(5)))

    def ident(self, value: str) -> str:
        source = css_escape(value, self.rng)
        if self.rng.random() < 0.4:
            source = "".join(f"\\{ord(ch):x} " if ord(ch) >= 0x80 else ch for ch in source)
        return source

    def selector(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            out = "." + self.ident(rng.choice(WS_CLASSES))
        elif roll < 0.5:
            out = "#" + self.ident(rng.choice(WS_IDS))
        else:
            name = rng.choice(["class", "id", "data-x"])
            out = attribute_selector(rng, name, WS_CLASSES + WS_IDS + ["btn primary"])
        if rng.random() < 0.2:
            out = rng.choice(["div", "button", "svg"]) + rng.choice([" ", "\u00a0", " > "]) + out
        return out

    fixed = [".btn\\a0 primary", ".btn", '[class~="btn"]', '[class*="\\a0"]', ".btn\u00a0primary", "#a\\a0 b"]


# ---- non-latin: long values in other scripts ----------------------------------------------------

CJK_TEXT = "漢字かなカナ한국어" * 40
EMOJI = "🚀👩‍💻🇫🇷" * 60  # astral characters: two UTF-16 units each
CYRILLIC = "Привет МИР привет мир "
ARABIC = "مرحبا بالعالم "
COMBINING = "e\u0301té café\u0301 "


class NonLatinKind:
    def __init__(self, rng: random.Random):
        self.rng = rng
        self.values = [
            CJK_TEXT[: rng.randint(300, 359)],
            EMOJI[: rng.randint(200, 420)],
            CYRILLIC * 10,
            CYRILLIC.upper() * 3,
            ARABIC * 20,
            COMBINING * 8,
            "漢字",
            "ПРИВЕТ",
        ]

    def element(self, depth: int) -> str:
        rng = self.rng
        attrs = ""
        if rng.random() < 0.4:
            attrs += f' id="{rng.choice(["漢字", "привет", "Привет", "🚀"])}"'
        if rng.random() < 0.5:
            attrs += f' class="{" ".join(rng.sample(["漢字", "カナ", "мир", "МИР", "🚀", "café"], 2))}"'
        attrs += attrs_markup(rng, ["data-text", "title", "lang", "type"], self.values, 2)
        tag = rng.choice(["div", "p", "span", "button"])
        children = "".join(self.element(depth + 1) for _ in range(rng.choice([0, 1, 2]) if depth < 4 else 0))
        return f"<{tag}{attrs}>{CJK_TEXT[:50]}{children}</{tag}>"

    def page(self) -> str:
        return page("".join(self.element(1) for _ in range(4)))

    def selector(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            return "#" + css_escape(rng.choice(["漢字", "привет", "ПРИВЕТ", "🚀"]), rng)
        if roll < 0.4:
            return "." + css_escape(rng.choice(["漢字", "カナ", "мир", "МИР", "🚀", "café", "cafe\u0301"]), rng)
        name = rng.choice(["data-text", "title", "lang", "type"])
        value = rng.choice(self.values)
        operator = rng.choice(["=", "^=", "$=", "*="])
        if operator == "^=":
            value = value[: rng.randint(1, 40)]
        elif operator == "$=":
            value = value[-rng.randint(1, 40) :]
        elif operator == "*=":
            start = rng.randint(0, len(value) - 2)
            value = value[start : start + rng.randint(1, 20)]
        if rng.random() < 0.2:
            value = value.lower() if rng.random() < 0.5 else value.upper()
        flag = " i" if rng.random() < 0.25 else ""
        return f"[{name}{operator}{css_string(value, rng)}{flag}]"

    fixed = ['[lang="привет мир привет мир " i]', '[title^="🚀"]', '[data-text*="カナ"]']


# Invalid in Chromium (its tokenizer makes `~=` one token, so a comment cannot split it): judged
# with every kind, the compiler must refuse them too.
INVALID = ['[a~/**/="b"]', "[a^/**/=b]", "[a$/* x */=b]", "[a*/**/=b]", "[a|/**/=b]", "[a~ =b]"]

KINDS = {
    "foreign": ForeignKind,
    "unicode-names": UnicodeNamesKind,
    "deep": DeepKind,
    "whitespace": WhitespaceKind,
    "non-latin": NonLatinKind,
}


def generate(
    kind: str, seed: int, *, pages: int, selectors: int, fuzzed: int
) -> tuple[list[str], list[str], list[str]]:
    """(pages, generated selectors, fuzzed selectors) of one kind, reproducible from the seed."""
    rng = random.Random(f"{kind}-{seed}")
    generator = KINDS[kind](rng)
    html_pages = [generator.page() for _ in range(pages)]
    generated = list(dict.fromkeys([*generator.fixed, *(generator.selector() for _ in range(selectors))]))
    mutated = dict.fromkeys(mutate(rng.choice(generated), rng) for _ in range(fuzzed))
    return html_pages, generated, [s for s in [*INVALID, *mutated] if s not in generated]
