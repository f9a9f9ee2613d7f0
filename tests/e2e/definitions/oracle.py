"""Random pages and random selectors for the browser-oracle test (seeded, reproducible)."""

import html
import random

TAGS = ["div", "span", "a", "button", "section", "ul", "li", "nav", "p", "label", "em", "x-card", "input", "form"]
SVG_TAGS = ["g", "rect", "text", "foreignObject"]
ID_POOL = ["cta", "main", "Main", "nav", "a.b", "1x", "x:y", "é-id", "sign up", "--dash", "-x", "_u", "a\\b", 'q"t']
CLASS_POOL = [
    "btn",
    "btn-primary",
    "Btn",
    "btn_primary",
    "primary",
    "md:px-4",
    "w-1/2",
    "-neg",
    "--var",
    "_u",
    "é",
    "a.b",
    "x[1]",
    "1col",
    "nav",
    "item",
    "active",
]
ATTR_POOL = {
    "data-plan": ["pro", "Pro", "pro plan", "pro-plan", "", 'a"b', "x'y", "a\\b", "é"],
    "type": ["submit", "SUBMIT", "Button", "text", "checkbox"],
    "rel": ["noopener noreferrer", "NoOpener", "external"],
    "lang": ["en", "EN-us", "fr"],
    "aria-label": ['Start "Pro" trial', "close", "Close menu", "a  b"],
    "href": ["/pricing", "/pricing?x=1", "https://shop.example/a#b", "#top", ""],
    "title": ["Hello", "hello world", "tab\there"],
    "name": ["q", "email", "Q"],
    "data-x": ["1", "0 1", "a,b", "[x]", "{y}"],
}
SVG_ATTRS = {"viewBox": ["0 0 10 10"], "fill": ["red", "RED"], "data-plan": ["pro"], "type": ["SUBMIT", "x"]}


class PageGenerator:
    # heap.js drops class="" (docs/api.md keeps `class` only when it differs from the joined
    # tokens), so [class] cannot be judged on such elements yet; see test_empty_class_attribute.
    empty_class = False

    def __init__(self, rng: random.Random):
        self.rng = rng

    def attrs_html(self, svg: bool = False) -> str:
        rng = self.rng
        parts = []
        if rng.random() < 0.35:
            parts.append(f'id="{html.escape(rng.choice(ID_POOL + [""]), quote=True)}"')
        roll = rng.random()
        if roll < 0.55:
            classes = rng.sample(CLASS_POOL, rng.randint(1, 4))
            sep = rng.choice([" ", " ", "  ", "\t"])
            raw = sep.join(classes)
            if rng.random() < 0.15:
                raw = f" {raw} {classes[0]}"  # leading space and a duplicate token
            parts.append(f'class="{html.escape(raw, quote=True)}"')
        elif roll < 0.6:
            parts.append('class="   "')
        elif roll < 0.63 and self.empty_class:
            parts.append('class=""')
        pool = SVG_ATTRS if svg else ATTR_POOL
        for name in rng.sample(list(pool), rng.randint(0, 3)):
            parts.append(f'{name}="{html.escape(rng.choice(pool[name]), quote=True)}"')
        return (" " + " ".join(parts)) if parts else ""

    def element(self, depth: int) -> str:
        rng = self.rng
        if depth > 2 and rng.random() < 0.08:
            return self.svg(depth)
        tag = rng.choice(TAGS)
        if tag == "input":
            return f"<input{self.attrs_html()}>"
        children = ""
        if depth < 7:
            children = "".join(self.element(depth + 1) for _ in range(rng.choice([0, 1, 1, 2, 2, 3])))
        return f"<{tag}{self.attrs_html()}>t{children}</{tag}>"

    def svg(self, depth: int) -> str:
        inner = ""
        for _ in range(self.rng.randint(1, 2)):
            tag = self.rng.choice(SVG_TAGS)
            if tag == "foreignObject":
                inner += f"<foreignObject{self.attrs_html(svg=True)}>{self.element(depth + 2)}</foreignObject>"
            else:
                inner += f"<{tag}{self.attrs_html(svg=True)}></{tag}>"
        return f'<svg viewBox="0 0 10 10"{self.attrs_html(svg=True)}><g>{inner}</g></svg>'

    def page(self) -> str:
        body = "".join(self.element(1) for _ in range(self.rng.randint(2, 4)))
        head = '<!DOCTYPE html><html lang="en"><head><title>oracle</title></head>'
        return f"{head}<body{self.attrs_html()}>{body}</body></html>"


def css_escape(ident: str, rng: random.Random) -> str:
    """An identifier as CSS source, escaping like CSS.escape() and sometimes with other valid escapes."""
    out = []
    for i, ch in enumerate(ident):
        code = ord(ch)
        if (i == 0 and ch.isdigit()) or (i == 1 and ch.isdigit() and ident[0] == "-"):
            out.append(f"\\{code:x} ")
        elif i == 0 and ch == "-" and len(ident) == 1:
            out.append("\\-")
        elif ch.isalnum() or ch in "-_" or code >= 0x80:
            if ch.isascii() and ch.isalpha() and rng.random() < 0.05:
                out.append(f"\\{code:x} ")  # a needless hex escape is still the same letter
            else:
                out.append(ch)
        else:
            out.append("\\" + ch)
    return "".join(out)


def css_string(value: str, rng: random.Random) -> str:
    quote = rng.choice(['"', "'"])
    body = value.replace("\\", "\\\\").replace(quote, "\\" + quote).replace("\n", "\\a ").replace("\t", "\\9 ")
    return quote + body + quote


class SelectorGenerator:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def ident_case(self, name: str) -> str:
        roll = self.rng.random()
        if roll < 0.1:
            return name.upper()
        if roll < 0.15:
            return name.capitalize()
        return name

    def attribute(self) -> str:
        rng = self.rng
        svg = rng.random() < 0.15
        pool = SVG_ATTRS if svg else ATTR_POOL
        name = rng.choice(list(pool) + ["id", "class"])
        if name == "id":
            values = ID_POOL + [""]
        elif name == "class":
            values = CLASS_POOL + ["btn btn-primary", "", " "]
        else:
            values = pool[name]
        name_src = css_escape(self.ident_case(name) if rng.random() < 0.3 else name, rng)
        operator = rng.choice([None, "=", "=", "^=", "$=", "*=", "~="])
        if operator is None:
            return f"[{name_src}]"
        value = rng.choice(values + [""]) if rng.random() < 0.9 else rng.choice(values)
        if value and rng.random() < 0.4:
            # a part of a real value (prefix, suffix, inner word) so the operators have hits
            start = rng.randint(0, len(value) - 1)
            value = value[start : rng.randint(start + 1, len(value))]
        if rng.random() < 0.15:
            value = value.upper()
        if value and all(ch.isalnum() or ch in "-_" for ch in value) and not value[0].isdigit() and rng.random() < 0.5:
            value_src = (
                value
                if not value.startswith("-") or len(value) > 1 and not value[1].isdigit()
                else css_string(value, rng)
            )
        else:
            value_src = css_string(value, rng)
        flag = " i" if rng.random() < 0.1 else ""
        spaces = rng.choice(["", " "])
        return f"[{spaces}{name_src}{spaces}{operator}{spaces}{value_src}{flag}{spaces}]"

    def compound(self) -> str:
        rng = self.rng
        parts = []
        roll = rng.random()
        if roll < 0.45:
            tag = rng.choice(TAGS + SVG_TAGS + ["svg", "body", "html"])
            parts.append(css_escape(self.ident_case(tag), rng))
        elif roll < 0.55:
            parts.append("*")
        for _ in range(rng.choice([0, 0, 1, 1, 2])):
            parts.append(
                "."
                + css_escape(
                    self.ident_case(rng.choice(CLASS_POOL)) if rng.random() < 0.1 else rng.choice(CLASS_POOL), rng
                )
            )
        if rng.random() < 0.15:
            parts.append("#" + css_escape(rng.choice(ID_POOL), rng))
        if rng.random() < 0.3:
            parts.append(self.attribute())
        if not parts:
            parts.append("." + css_escape(rng.choice(CLASS_POOL), rng))
        head = [p for p in parts if not p.startswith((".", "#", "["))]
        tail = [p for p in parts if p.startswith((".", "#", "["))]
        rng.shuffle(tail)
        return "".join(head + tail)

    def complex(self) -> str:
        rng = self.rng
        out = self.compound()
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            out += rng.choice([" ", " > ", ">", "  ", " >  ", "\n"]) + self.compound()
        return out

    def selector(self) -> str:
        parts = [self.complex() for _ in range(self.rng.choice([1, 1, 1, 1, 2]))]
        return self.rng.choice([", ", ",", " , "]).join(parts)


def mutate(selector: str, rng: random.Random) -> str:
    """A random one-character edit, for tokenizer fuzzing (valid or not, the browser decides)."""
    pool = " .#[]=^$*~|>+,:()\"'\\-_a1é/"
    i = rng.randint(0, len(selector))
    roll = rng.random()
    if roll < 0.4 and selector:
        i = min(i, len(selector) - 1)
        return selector[:i] + selector[i + 1 :]
    if roll < 0.8:
        return selector[:i] + rng.choice(pool) + selector[i:]
    return selector[:i] + rng.choice(pool) + selector[i + 1 :]
