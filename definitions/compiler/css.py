"""CSS selector parsing for definitions: the subset docs/architecture.md §5 supports, with browser tokenization.

Tokenization follows CSS Syntax Level 3 (escapes, strings, comments, hash/number tokens), so a
selector means here exactly what it means to `element.matches()`. Anything outside the supported
grammar raises `CompileError` naming the construct and its position.
"""

from dataclasses import dataclass, field

from .errors import CompileError

WHITESPACE = " \t\n\r\f"
NEWLINES = "\n\r\f"
HEX_DIGITS = "0123456789abcdefABCDEF"
REPLACEMENT = "\ufffd"


def ascii_lower(text: str) -> str:
    # CSS and HTML compare names ASCII case-insensitively; str.lower() would also fold "É".
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# ---- tokens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # ident, hash, string, bad-string, delim, match (~= |= ^= $= *=), ws, colon, comma, [, ], ...
    value: str
    pos: int
    is_id: bool = False  # hash tokens only: the name would start an identifier


def _is_name_start(ch: str) -> bool:
    return ch.isascii() and (ch.isalpha() or ch == "_") or (not ch.isascii() and ch != "")


def _is_name_char(ch: str) -> bool:
    return _is_name_start(ch) or (ch.isascii() and ch.isdigit()) or ch == "-"


class _Tokenizer:
    def __init__(self, text: str):
        # Preprocessing (CSS Syntax §3.3): NUL and lone surrogates become U+FFFD.
        self.text = "".join(REPLACEMENT if ch == "\0" or "\ud800" <= ch <= "\udfff" else ch for ch in text)
        self.i = 0

    def peek(self, offset: int = 0) -> str:
        j = self.i + offset
        return self.text[j] if j < len(self.text) else ""

    def valid_escape(self, offset: int = 0) -> bool:
        return (
            self.peek(offset) == "\\"
            and self.peek(offset + 1) not in NEWLINES
            or (self.peek(offset) == "\\" and self.peek(offset + 1) == "")
        )

    def starts_ident(self, offset: int = 0) -> bool:
        first = self.peek(offset)
        if first == "-":
            second = self.peek(offset + 1)
            return second != "" and (_is_name_start(second) or second == "-") or self.valid_escape(offset + 1)
        if first == "\\":
            return self.valid_escape(offset)
        return first != "" and _is_name_start(first)

    def starts_number(self, offset: int = 0) -> bool:
        first, second = self.peek(offset), self.peek(offset + 1)
        if first in "+-" and first:
            return second.isascii() and second.isdigit() or (second == "." and self.peek(offset + 2).isdigit())
        if first == ".":
            return second.isascii() and second.isdigit()
        return first != "" and first.isascii() and first.isdigit()

    def consume_escape(self) -> str:
        # Called just after the backslash.
        ch = self.peek()
        if ch == "":
            return REPLACEMENT
        if ch in HEX_DIGITS:
            digits = ""
            while len(digits) < 6 and self.peek() != "" and self.peek() in HEX_DIGITS:
                digits += self.peek()
                self.i += 1
            if self.peek() == "\r" and self.peek(1) == "\n":
                self.i += 2
            elif self.peek() != "" and self.peek() in WHITESPACE:
                self.i += 1
            code = int(digits, 16)
            if code == 0 or 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
                return REPLACEMENT
            return chr(code)
        self.i += 1
        return ch

    def consume_name(self) -> str:
        out = []
        while True:
            ch = self.peek()
            if ch != "" and _is_name_char(ch):
                out.append(ch)
                self.i += 1
            elif self.valid_escape():
                self.i += 1
                out.append(self.consume_escape())
            else:
                return "".join(out)

    def consume_string(self, quote: str, start: int) -> Token:
        self.i += 1
        out = []
        while True:
            ch = self.peek()
            if ch == "" or ch == quote:
                self.i += 1 if ch else 0
                return Token("string", "".join(out), start)
            if ch in NEWLINES:
                return Token("bad-string", "".join(out), start)
            if ch == "\\":
                nxt = self.peek(1)
                if nxt == "":
                    self.i += 1
                elif nxt in NEWLINES:
                    self.i += 3 if nxt == "\r" and self.peek(2) == "\n" else 2
                else:
                    self.i += 1
                    out.append(self.consume_escape())
                continue
            out.append(ch)
            self.i += 1

    def consume_number(self, start: int) -> Token:
        if self.peek() in "+-" and self.peek():
            self.i += 1
        while self.peek().isascii() and self.peek().isdigit() and self.peek():
            self.i += 1
        if self.peek() == "." and self.peek(1).isascii() and self.peek(1).isdigit():
            self.i += 1
            while self.peek().isascii() and self.peek().isdigit() and self.peek():
                self.i += 1
        if self.peek() in "eE" and self.peek():
            j = 2 if self.peek(1) in "+-" and self.peek(1) else 1
            if self.peek(j).isascii() and self.peek(j).isdigit() and self.peek(j):
                self.i += j
                while self.peek().isascii() and self.peek().isdigit() and self.peek():
                    self.i += 1
        if self.starts_ident():
            self.consume_name()
            return Token("dimension", self.text[start : self.i], start)
        if self.peek() == "%":
            self.i += 1
            return Token("percentage", self.text[start : self.i], start)
        return Token("number", self.text[start : self.i], start)

    def next(self) -> Token:
        # Comments vanish (CSS Syntax §4.3.2); an unclosed one runs to the end.
        while self.peek() == "/" and self.peek(1) == "*":
            end = self.text.find("*/", self.i + 2)
            self.i = len(self.text) if end < 0 else end + 2
        start = self.i
        ch = self.peek()
        if ch == "":
            return Token("eof", "", start)
        if ch in WHITESPACE:
            while self.peek() != "" and self.peek() in WHITESPACE:
                self.i += 1
            return Token("ws", " ", start)
        if ch in "\"'":
            return self.consume_string(ch, start)
        if ch == "#":
            if (self.peek(1) != "" and _is_name_char(self.peek(1))) or self.valid_escape(1):
                self.i += 1
                is_id = self.starts_ident()
                return Token("hash", self.consume_name(), start, is_id=is_id)
            self.i += 1
            return Token("delim", "#", start)
        if ch in "()[]{},:;":
            self.i += 1
            return Token({",": "comma", ":": "colon"}.get(ch, ch), ch, start)
        if ch in "~|^$*" and self.peek(1) == "=":
            # One token, as Chromium's tokenizer makes it: `[a~/**/=b]` is two delims, and invalid.
            self.i += 2
            return Token("match", ch + "=", start)
        if ch in "+.":
            if self.starts_number():
                return self.consume_number(start)
            self.i += 1
            return Token("delim", ch, start)
        if ch == "-":
            if self.starts_number():
                return self.consume_number(start)
            if self.peek(1) == "-" and self.peek(2) == ">":
                self.i += 3
                return Token("cdc", "-->", start)
            if self.starts_ident():
                return self.consume_ident_like(start)
            self.i += 1
            return Token("delim", ch, start)
        if ch == "<" and self.text.startswith("<!--", self.i):
            self.i += 4
            return Token("cdo", "<!--", start)
        if ch == "@":
            self.i += 1
            if self.starts_ident():
                return Token("at-keyword", self.consume_name(), start)
            return Token("delim", "@", start)
        if ch == "\\":
            if self.valid_escape():
                return self.consume_ident_like(start)
            self.i += 1
            return Token("delim", ch, start)
        if ch.isascii() and ch.isdigit():
            return self.consume_number(start)
        if _is_name_start(ch):
            return self.consume_ident_like(start)
        self.i += 1
        return Token("delim", ch, start)

    def consume_ident_like(self, start: int) -> Token:
        name = self.consume_name()
        if self.peek() == "(":
            self.i += 1
            return Token("function", name, start)
        return Token("ident", name, start)


def tokenize(text: str) -> list[Token]:
    tokenizer = _Tokenizer(text)
    tokens = []
    while True:
        token = tokenizer.next()
        tokens.append(token)
        if token.kind == "eof":
            return tokens


# ---- selector AST --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttributeTest:
    name: str  # as written; matching lowercases it (HTML documents)
    operator: str | None  # None for [attr]; else one of = ~= ^= $= *=
    value: str = ""
    case_insensitive: bool = False  # the `i` flag


@dataclass
class Compound:
    # None = any element (no type selector, or `*`); a string names a type, even "*" (from `\*`).
    tag: str | None = None
    ids: list[str] = field(default_factory=list)
    classes: list[str] = field(default_factory=list)
    attributes: list[AttributeTest] = field(default_factory=list)


@dataclass
class Complex:
    # compounds[0] is the leftmost; combinators[k] joins compounds[k] and compounds[k + 1] (" " or ">").
    compounds: list[Compound]
    combinators: list[str]


# Attributes heap.js never sends (docs/api.md), so a selector on them could never be judged.
UNCAPTURED_ATTRIBUTES = {"style", "value", "srcdoc"}
MAX_LENGTH = 4096
# Compound selectors in one complex selector (`a b > c` has 3). Each descendant step nests one
# subquery in the compiled SQL, so this bounds the SQL's depth (docs/definitions.md, "Limits").
MAX_COMPOUNDS = 32
# Selectors in one list (`a, b, c` has 3): each compiles to its own SQL, so 818 copies of `a b c`
# in 4 kB compiled to 1 MB (docs/definitions.md, "Limits").
MAX_LIST = 32


def _describe(token: Token) -> str:
    if token.kind == "eof":
        return "end of selector"
    if token.kind == "ws":
        return "whitespace"
    if token.kind in ("string", "bad-string"):
        return "a string"
    if token.kind == "function":
        return repr(token.value + "(")
    if token.kind == "hash":
        return repr("#" + token.value)
    if token.kind == "at-keyword":
        return repr("@" + token.value)
    return repr(token.value)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.k = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.k]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.k + offset, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.k]
        self.k = min(self.k + 1, len(self.tokens) - 1)
        return token

    def skip_ws(self) -> None:
        while self.tok.kind == "ws":
            self.advance()

    def fail(self, message: str, token: Token | None = None) -> CompileError:
        token = token or self.tok
        return CompileError(f"{message} at character {token.pos + 1}", position=token.pos)

    def parse_list(self) -> list[Complex]:
        selectors = []
        while True:
            self.skip_ws()
            if self.tok.kind in ("comma", "eof"):
                if not selectors and self.tok.kind == "eof":
                    raise self.fail("The selector is empty")
                raise self.fail("Empty selector in the list")
            selectors.append(self.parse_complex())
            if self.tok.kind == "eof":
                return selectors
            if len(selectors) == MAX_LIST:
                raise self.fail(f"Too many selectors: a list holds at most {MAX_LIST} (separated by commas)")
            self.advance()  # the comma

    def parse_complex(self) -> Complex:
        if self.tok.kind == "delim" and self.tok.value in ">+~":
            raise self.fail(f"The selector cannot start with the combinator {self.tok.value!r}")
        compounds = [self.parse_compound()]
        combinators = []
        while True:
            had_ws = self.tok.kind == "ws"
            self.skip_ws()
            token = self.tok
            if token.kind in ("comma", "eof"):
                return Complex(compounds, combinators)
            if token.kind == "delim" and token.value == ">":
                combinator = ">"
                self.advance()
                self.skip_ws()
            elif token.kind == "delim" and token.value in "+~":
                kind = "adjacent sibling" if token.value == "+" else "general sibling"
                raise self.fail(f"The {kind} combinator {token.value!r} is not supported", token)
            elif (
                token.kind == "delim"
                and token.value == "|"
                and self.peek().kind == "delim"
                and self.peek().value == "|"
            ):
                raise self.fail("The column combinator '||' is not supported", token)
            elif had_ws:
                combinator = " "
            else:
                raise self.fail(f"Unexpected {_describe(token)}", token)
            if self.tok.kind in ("comma", "eof"):
                raise self.fail(f"The combinator {combinator.strip() or 'whitespace'!r} has nothing after it")
            if self.tok.kind == "delim" and self.tok.value in ">+~":
                raise self.fail(f"Two combinators in a row ({self.tok.value!r})")
            if len(compounds) == MAX_COMPOUNDS:
                raise self.fail(
                    f"Too many steps: a selector can chain at most {MAX_COMPOUNDS} compound selectors"
                    " (elements joined by combinators)"
                )
            compounds.append(self.parse_compound())
            combinators.append(combinator)

    def parse_compound(self) -> Compound:
        compound = Compound()
        start = self.tok
        token = self.tok
        if token.kind == "delim" and token.value == "|" or self._namespace_follows():
            raise self.fail("Namespaces ('|') are not supported", token)
        if token.kind == "ident":
            compound.tag = token.value
            self.advance()
        elif token.kind == "delim" and token.value == "*":
            self.advance()  # the universal selector: the same as no type selector
        while True:
            token = self.tok
            if token.kind == "hash":
                if not token.is_id:
                    raise self.fail(f"{_describe(token)} is not a valid id selector (ids must be identifiers)", token)
                compound.ids.append(token.value)
                self.advance()
            elif token.kind == "delim" and token.value == ".":
                self.advance()
                if self.tok.kind != "ident":
                    raise self.fail(f"Expected a class name after '.', found {_describe(self.tok)}")
                compound.classes.append(self.advance().value)
            elif token.kind == "number" and token.value.startswith("."):
                raise self.fail(
                    f"{token.value!r} is not a valid class selector (class names cannot start with a digit)"
                )
            elif token.kind == "[":
                compound.attributes.append(self.parse_attribute())
            elif token.kind == "colon":
                raise self.fail(self._pseudo_message(), token)
            elif token.kind in ("ident",) or (token.kind == "delim" and token.value == "*"):
                raise self.fail(f"The type selector {_describe(token)} must come first in its compound selector", token)
            else:
                break
        if compound == Compound() and start is self.tok:
            raise self.fail(f"Unexpected {_describe(self.tok)}")
        return compound

    def _namespace_follows(self) -> bool:
        token, nxt = self.tok, self.peek()
        is_name = token.kind == "ident" or (token.kind == "delim" and token.value == "*")
        return (
            is_name
            and nxt.kind == "delim"
            and nxt.value == "|"
            # `a||b` is the column combinator.
            and not (self.peek(2).kind == "delim" and self.peek(2).value == "|")
        )

    def _pseudo_message(self) -> str:
        double = self.peek().kind == "colon"
        name_token = self.peek(2 if double else 1)
        name = name_token.value if name_token.kind in ("ident", "function") else ""
        suffix = "(…)" if name_token.kind == "function" else ""
        if double or name.lower() in ("before", "after", "first-line", "first-letter"):
            return f"Pseudo-elements are not supported ('{'::' if double else ':'}{name}{suffix}')"
        return f"Pseudo-classes are not supported (':{name}{suffix}')"

    def _equals_after_gap(self) -> bool:
        # The token after the current delim, past whitespace (comments are already gone), is '='.
        offset = 1
        while self.peek(offset).kind == "ws":
            offset += 1
        nxt = self.peek(offset)
        return nxt.kind == "delim" and nxt.value == "="

    def parse_attribute(self) -> AttributeTest:
        self.advance()
        self.skip_ws()
        token = self.tok
        if token.kind == "delim" and token.value in "|*" or self._namespace_follows():
            raise self.fail("Namespaces in attribute selectors are not supported", token)
        if token.kind != "ident":
            raise self.fail(f"Expected an attribute name, found {_describe(token)}", token)
        name = self.advance().value
        lowered = ascii_lower(name)
        if lowered in UNCAPTURED_ATTRIBUTES or lowered.startswith("on"):
            raise self.fail(f"The attribute [{name}] is not captured by heap.js, so it cannot be matched", token)
        self.skip_ws()
        token = self.tok
        # CSS closes blocks left open at the end of input, so `[rel` is complete there.
        if token.kind in ("]", "eof"):
            self.advance()
            return AttributeTest(name, None)
        if token.kind == "match" and token.value == "|=":
            raise self.fail("The attribute operator '|=' is not supported", token)
        if token.kind == "match":
            operator = token.value
            self.advance()
        elif token.kind == "delim" and token.value == "=":
            operator = "="
            self.advance()
        elif token.kind == "delim" and token.value in "~|^$*" and self._equals_after_gap():
            raise self.fail(
                f"The attribute operator '{token.value}=' must be written without whitespace or a comment"
                f" between {token.value!r} and '='",
                token,
            )
        elif token.kind == "delim":
            raise self.fail(f"Unknown attribute operator {_describe(token)}", token)
        else:
            raise self.fail(f"Expected ']' or an operator in the attribute selector, found {_describe(token)}", token)
        self.skip_ws()
        token = self.tok
        if token.kind == "bad-string":
            raise self.fail("Unterminated string (a newline must be escaped)", token)
        if token.kind not in ("ident", "string"):
            hint = ' (quote it: "…")' if token.kind in ("number", "dimension", "percentage", "hash") else ""
            raise self.fail(f"Expected an attribute value, found {_describe(token)}{hint}", token)
        value = self.advance().value
        self.skip_ws()
        case_insensitive = False
        if self.tok.kind == "ident":
            flag = self.tok
            if ascii_lower(flag.value) == "i":
                case_insensitive = True
            elif ascii_lower(flag.value) == "s":
                raise self.fail("The case-sensitivity flag 's' is not supported", flag)
            else:
                raise self.fail(f"Unknown attribute selector flag {_describe(flag)}", flag)
            self.advance()
            self.skip_ws()
        if self.tok.kind not in ("]", "eof"):
            raise self.fail(f"Expected ']' to close the attribute selector, found {_describe(self.tok)}")
        self.advance()
        return AttributeTest(name, operator, value, case_insensitive)


def parse_selector_list(text: str) -> list[Complex]:
    """Parse `text` as `element.matches()` would, or raise CompileError naming the problem."""
    if not isinstance(text, str):
        raise CompileError("The selector must be a string")
    if len(text) > MAX_LENGTH:
        raise CompileError(f"The selector is longer than {MAX_LENGTH} characters", position=MAX_LENGTH)
    parser = _Parser(text)
    return parser.parse_list()
