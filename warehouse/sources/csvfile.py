"""Reading an uploaded CSV file: encoding, delimiter and header, before PostgreSQL's COPY reads the rest."""

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

SAMPLE_BYTES = 64 * 1024
# The header row may go on past the sample (1,600 long column names): it is read up to this size.
MAX_HEADER_BYTES = 1024 * 1024
DELIMITERS = ",;\t|"
MAX_COLUMNS = 1600  # PostgreSQL's limit on columns in a table


class CsvError(ValueError):
    """A problem with the file, located as precisely as we know (1-based line and column)."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None):
        self.message, self.line, self.column = message, line, column
        where = ", ".join(
            part for part in (f"line {line}" if line else "", f"column {column!r}" if column else "") if part
        )
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class CsvLayout:
    delimiter: str
    header: list[str]
    has_bom: bool


def read_head(fileobj: BinaryIO) -> bytes:
    """The file's first SAMPLE_BYTES, or more while its header row goes on (to MAX_HEADER_BYTES)."""
    head = fileobj.read(SAMPLE_BYTES)
    scan = _HeaderScan()
    while not scan.ends_in(head):
        if len(head) >= MAX_HEADER_BYTES:
            raise CsvError(
                f"the header row does not end within {MAX_HEADER_BYTES // 1024} kB (an unterminated quote?)", line=1
            )
        more = fileobj.read(min(len(head), MAX_HEADER_BYTES - len(head)))
        if not more:
            break
        head += more
    return head


class _HeaderScan:
    """Finds where the first row ends: a line break outside quotes (one inside belongs to a value).
    Each byte is read once however often the head grows, between quotes at C speed."""

    def __init__(self) -> None:
        self.scanned, self.quoted = 0, False

    def ends_in(self, head: bytes) -> bool:
        parts = head[self.scanned :].split(b'"')
        for index, part in enumerate(parts):
            if self.quoted == (index % 2 == 1) and (b"\n" in part or b"\r" in part):
                return True
        self.quoted ^= len(parts) % 2 == 0  # an odd number of quotes
        self.scanned = len(head)
        return False


def sniff_layout(sample: bytes, *, delimiter: str | None = None) -> CsvLayout:
    """Delimiter and header names from the first bytes of the file (read_head)."""
    has_bom = sample.startswith(codecs.BOM_UTF8)
    if has_bom:
        sample = sample[len(codecs.BOM_UTF8) :]
    if not sample.strip():
        raise CsvError("the file is empty", line=1)
    text = _decode_prefix(sample)
    if delimiter is None:
        delimiter = _sniff_delimiter(text)
    elif len(delimiter) != 1 or delimiter in '\r\n"\x00' or not (delimiter.isprintable() or delimiter == "\t"):
        raise CsvError(f"delimiter {delimiter!r} must be one character other than a quote or newline")
    elif not delimiter.isascii():  # PostgreSQL's COPY takes a one-byte delimiter only
        raise CsvError(f"delimiter {delimiter!r} must be an ASCII character (one byte in UTF-8)")
    try:
        header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except (StopIteration, csv.Error) as exc:
        raise CsvError(f"cannot read the header: {exc}", line=1) from None
    if not any(name.strip() for name in header):
        raise CsvError("the header row is empty", line=1)
    if len(header) > MAX_COLUMNS:
        raise CsvError(f"{len(header)} columns; at most {MAX_COLUMNS} are supported", line=1)
    _check_duplicates(header)
    return CsvLayout(delimiter=delimiter, header=header, has_bom=has_bom)


def _decode_prefix(sample: bytes) -> str:
    # The sample may end in the middle of a character; only a bad byte before that is an error.
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(sample, final=False)
    except UnicodeDecodeError as exc:
        line = sample[: exc.start].count(b"\n") + 1
        raise CsvError(f"not valid UTF-8 (byte 0x{sample[exc.start]:02x})", line=line) from None


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most fields, the same number on each line
    (the last one may be cut by the sample); "," when none splits the header.

    Not csv.Sniffer: its regular expressions took 11–32 s on a 64 kB first line such as '",' × 32,768,
    holding the interpreter's lock, so every other thread of the web process stood still meanwhile.
    csv.reader is linear.
    """
    lines = text.splitlines()[:20]
    best, best_key = ",", (False, 1)
    for delimiter in DELIMITERS:
        try:
            counts = [len(row) for row in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        key = (all(count == counts[0] for count in counts[:-1]), counts[0])
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _check_duplicates(header: list[str]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = name.strip()
        if key and key in seen:
            raise CsvError(f"duplicate header {key!r} (columns {seen[key]} and {position})", line=1, column=key)
        seen.setdefault(key, position)


class CopySource(io.RawIOBase):
    """The file as COPY reads it: without the BOM, counting bytes for the progress bar.

    It also notes the first line that holds only `\\.`: PostgreSQL's CSV COPY takes it for the end
    of the data and ignores the rest of the file (an upload of 1,004 lines loaded 1 row, saying
    so as if all was well). `end_of_data_line` is that line's number, once the file is read.
    """

    def __init__(self, head: bytes, rest: BinaryIO, *, on_read: Callable[[int], None] | None = None):
        self._head = head[len(codecs.BOM_UTF8) :] if head.startswith(codecs.BOM_UTF8) else head
        self._rest = rest
        self._on_read = on_read
        # The last bytes read (a marker may straddle two reads), starting as a virtual newline: the
        # file's start is a line's start too.
        self._carry, self._carry_virtual, self._newlines = b"\n", True, 0
        self.end_of_data_line: int | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = (self._head, b"") if size < 0 else (self._head[:size], self._head[size:])
        else:
            chunk = self._rest.read(size if size and size > 0 else 1 << 20)
        self._watch(chunk)
        if self._on_read and chunk:
            self._on_read(len(chunk))
        return chunk

    def _watch(self, chunk: bytes) -> None:
        if self.end_of_data_line is not None:
            return
        text = self._carry + chunk + (b"" if chunk else b"\n")  # the end of the file ends a line
        virtual = 1 if self._carry_virtual else 0  # the carried virtual newline is no line of the file
        match = _END_OF_DATA.search(text)
        if match:
            self.end_of_data_line = self._newlines + text.count(b"\n", 0, match.start() + 1) - virtual + 1
            return
        keep = max(0, len(text) - 4)  # the marker is at most 5 bytes: 4 carried complete it
        if keep:
            self._newlines += text.count(b"\n", 0, keep) - virtual
            self._carry_virtual = False
        self._carry = text[keep:]


_END_OF_DATA = re.compile(rb"\n\\\.\r?\n")
