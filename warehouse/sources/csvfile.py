"""Reading an uploaded CSV file: encoding, delimiter and header, before PostgreSQL's COPY reads the rest."""

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

SAMPLE_BYTES = 64 * 1024
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


def sniff_layout(sample: bytes, *, delimiter: str | None = None) -> CsvLayout:
    """Delimiter and header names from the first bytes of the file."""
    has_bom = sample.startswith(codecs.BOM_UTF8)
    if has_bom:
        sample = sample[len(codecs.BOM_UTF8) :]
    if not sample.strip():
        raise CsvError("the file is empty", line=1)
    text = _decode_prefix(sample)
    if delimiter is None:
        delimiter = _sniff_delimiter(text)
    elif len(delimiter) != 1 or delimiter in '\r\n"':
        raise CsvError(f"delimiter {delimiter!r} must be one character other than a quote or newline")
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
    first_lines = "\n".join(text.splitlines()[:50])
    try:
        return csv.Sniffer().sniff(first_lines, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return ","


def _check_duplicates(header: list[str]) -> None:
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = name.strip()
        if key and key in seen:
            raise CsvError(f"duplicate header {key!r} (columns {seen[key]} and {position})", line=1, column=key)
        seen.setdefault(key, position)


class CopySource(io.RawIOBase):
    """The file as COPY reads it: without the BOM, counting bytes for the progress bar."""

    def __init__(self, head: bytes, rest: BinaryIO, *, on_read: Callable[[int], None] | None = None):
        self._head = head[len(codecs.BOM_UTF8) :] if head.startswith(codecs.BOM_UTF8) else head
        self._rest = rest
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._head:
            chunk, self._head = (self._head, b"") if size < 0 else (self._head[:size], self._head[size:])
        else:
            chunk = self._rest.read(size if size and size > 0 else 1 << 20)
        if self._on_read and chunk:
            self._on_read(len(chunk))
        return chunk
