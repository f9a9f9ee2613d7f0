"""Numbers from query strings, forms and URLs: what a page may pass to int() and to a bigint column."""

BIGINT_LIMIT = 2**63


def whole_number(text: str, *, limit: int = BIGINT_LIMIT) -> int | None:
    """`text` as a whole number below `limit` (by default, what a bigint id holds), or None.

    ASCII digits only: str.isdigit() also accepts "²" and other digits int() refuses (a 500 where a
    link was mistyped), and an id past the bigint range reached the database as an error.
    """
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(limit)):
        return None
    number = int(text)
    return number if number < limit else None
