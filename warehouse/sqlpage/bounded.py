"""The statements that bound an answer in bytes as well as rows (docs/sql.md, "How big an answer can be").

Fetching rows is not enough to bound a web process: one row can hold a gigabyte
(``SELECT repeat('x', 1000000000)``) and libpq reads a whole row before Python sees it. So the
user's statement runs as a subquery of a statement that PostgreSQL itself keeps within the budget:

A. every column the web process would not hold at a fixed small size becomes text (its
   PostgreSQL output form), computed once;
B. for the page, each such value is cut to SQLPAGE_MAX_CELL_CHARS characters (its full size in bytes
   comes along, for the "truncated (N bytes)" marker); for a CSV, text that a spreadsheet would take
   for a formula gets a leading ``'``, and a value over the batch budget on its own is dropped here;
C. a window sums the bytes of each row: of every row so far on the page, of the last
   CSV_BATCH_ROWS rows for a CSV;
D. a row whose sum is over the budget comes back without its values, flagged.

The page then holds at most SQLPAGE_MAX_RESULT_BYTES of cell text, and each FETCH of a CSV (at most
CSV_BATCH_ROWS rows) at most SQLPAGE_CSV_MAX_BATCH_BYTES: if the last row of a batch that came back
whole has a window sum within the budget, so do all the batch's rows before it, since the window
covers them.
"""

from dataclasses import dataclass

from psycopg2 import sql

# Values the page keeps as Python values and counts at SMALL_VALUE_BYTES each: numbers, times, ids.
SMALL_TYPES = {16, 18, 20, 21, 23, 26, 650, 700, 701, 774, 790, 829, 869, 1082, 1083, 1114, 1184, 1186, 1266, 2950}
SMALL_VALUE_BYTES = 32
# Numbers: never taken for spreadsheet formulas (a negative number is not one).
NUMBER_TYPES = {20, 21, 23, 26, 700, 701, 790, 1700}
CSV_BATCH_ROWS = 2000
# OWASP's list for CSV injection: a cell starting with one of these is a formula to a spreadsheet.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_QUOTE = sql.Literal("'")


@dataclass(frozen=True)
class Layout:
    """The type of each column of the user's statement, from describe_statement()."""

    type_oids: list[int]

    def is_small(self, index: int) -> bool:
        return self.type_oids[index] in SMALL_TYPES


def _names(count: int, letter: str) -> list[sql.Identifier]:
    return [sql.Identifier(f"{letter}{i}") for i in range(count)]


def _text_columns(layout: Layout, *, text_for_all: bool) -> tuple[sql.Composed, sql.Composed]:
    """Level A: SELECT <columns, as text where not small> FROM ( the user's statement ) AS q(c0, c1, ...)"""
    count = len(layout.type_oids)
    columns = _names(count, "c")
    outputs = []
    for index, (column, name) in enumerate(zip(columns, _names(count, "t"), strict=True)):
        if not text_for_all and layout.is_small(index):
            outputs.append(sql.SQL("q.{} AS {}").format(column, name))
        else:
            outputs.append(sql.SQL("q.{}::text AS {}").format(column, name))
    prefix = sql.SQL("SELECT {} FROM (\n").format(sql.SQL(", ").join(outputs))
    suffix = sql.SQL("\n) AS q({}) OFFSET 0").format(sql.SQL(", ").join(columns))
    return prefix, suffix


def _wrap(
    level_a: tuple[sql.Composed, sql.Composed],
    level_b: sql.Composable,
    row_bytes: sql.Composable,
    frame: sql.Composable,
    level_d: sql.Composable,
) -> tuple[sql.Composed, sql.Composed]:
    """The levels around the user's statement. B is fenced (OFFSET 0) so the window only ever holds the
    values B keeps: PostgreSQL would otherwise pass A's whole text through the window and cut it above."""
    inner_prefix, inner_suffix = level_a
    prefix = sql.SQL(
        "SELECT {d} FROM (SELECT b.*, sum({row_bytes}) OVER (ROWS {frame}) AS window_bytes FROM (SELECT {b} FROM ("
    ).format(d=level_d, row_bytes=row_bytes, frame=frame, b=level_b)
    suffix = inner_suffix + sql.SQL(") AS a OFFSET 0) AS b) AS w")
    return prefix + inner_prefix, suffix


def page_statement(layout: Layout, *, cell_chars: int, budget: int) -> tuple[sql.Composed, sql.Composed]:
    """Prefix and suffix around the user's statement. Each row: per column its value, and for a column that
    is not small also its full size in bytes; then ``over``, true from the first row past the budget on
    (its values NULL)."""
    count = len(layout.type_oids)
    t_names, v_names, n_names = _names(count, "t"), _names(count, "v"), _names(count, "n")
    small = sum(1 for index in range(count) if layout.is_small(index))
    b_select, sizes, d_select = [], [sql.Literal(small * SMALL_VALUE_BYTES)], []
    over = sql.SQL("w.window_bytes > {}").format(sql.Literal(budget))
    for index in range(count):
        t, v, n = t_names[index], v_names[index], n_names[index]
        if layout.is_small(index):
            b_select.append(sql.SQL("a.{} AS {}").format(t, v))
            d_select.append(sql.SQL("w.{}").format(v))
            continue
        b_select.append(
            sql.SQL("left(a.{t}, {cap}) AS {v}, octet_length(a.{t}) AS {n}").format(
                t=t, cap=sql.Literal(cell_chars), v=v, n=n
            )
        )
        sizes.append(sql.SQL("coalesce(octet_length(b.{}), 0)").format(v))
        d_select.append(sql.SQL("CASE WHEN NOT {over} THEN w.{v} END, w.{n}").format(over=over, v=v, n=n))
    d_select.append(over)
    return _wrap(
        _text_columns(layout, text_for_all=False),
        sql.SQL(", ").join(b_select),
        sql.SQL(" + ").join(sizes),
        sql.SQL("UNBOUNDED PRECEDING"),
        sql.SQL(", ").join(d_select),
    )


def csv_statement(layout: Layout, *, budget: int, neutralise: bool) -> tuple[sql.Composed, sql.Composed]:
    """Prefix and suffix around the user's statement. Each row: every column as text (NULL stays NULL),
    formulas neutralised when asked; then the bytes of the last CSV_BATCH_ROWS rows (the row's values NULL
    when that is over the budget). A single value over the budget never leaves level B."""
    count = len(layout.type_oids)
    t_names, v_names, n_names = _names(count, "t"), _names(count, "v"), _names(count, "n")
    starts = sql.SQL(", ").join(sql.Literal(start) for start in FORMULA_STARTS)
    b_select, sizes, d_select = [], [sql.Literal(0)], []
    over = sql.SQL("w.window_bytes > {}").format(sql.Literal(budget))
    for index in range(count):
        t, v, n = t_names[index], v_names[index], n_names[index]
        value = sql.SQL("a.{}").format(t)
        if neutralise and layout.type_oids[index] not in NUMBER_TYPES:
            value = sql.SQL("CASE WHEN left(a.{t}, 1) IN ({starts}) THEN {quote} || a.{t} ELSE a.{t} END").format(
                t=t, starts=starts, quote=_QUOTE
            )
        b_select.append(
            sql.SQL(
                "CASE WHEN octet_length(a.{t}) <= {budget} THEN {value} END AS {v}, octet_length(a.{t}) AS {n}"
            ).format(t=t, budget=sql.Literal(budget), value=value, v=v, n=n)
        )
        sizes.append(sql.SQL("coalesce(b.{}, 0)").format(n))
        d_select.append(sql.SQL("CASE WHEN NOT {} THEN w.{} END").format(over, v))
    d_select.append(sql.SQL("w.window_bytes"))
    return _wrap(
        _text_columns(layout, text_for_all=True),
        sql.SQL(", ").join(b_select),
        sql.SQL(" + ").join(sizes),
        sql.SQL("BETWEEN {} PRECEDING AND CURRENT ROW").format(sql.Literal(CSV_BATCH_ROWS - 1)),
        sql.SQL(", ").join(d_select),
    )


def describe_statement() -> tuple[sql.Composed, sql.Composed]:
    """Prefix and suffix that give the user's statement's columns without running it: LIMIT 0 never reads
    a row (functions in the select list are not called)."""
    return sql.SQL("SELECT * FROM (\n"), sql.SQL("\n) AS q LIMIT 0")
