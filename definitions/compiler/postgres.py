"""Checks that need the database: PostgreSQL's regex engine is the one that will run the pattern."""

from django.db import DatabaseError, connection, transaction


def postgres_regex_error(pattern: str) -> str | None:
    """PostgreSQL's own error for an invalid regular expression, or None when it compiles."""
    try:
        # A savepoint, so a bad pattern does not abort the caller's transaction.
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT '' ~ %s", [pattern])
    except DatabaseError as error:
        message = str(getattr(error, "__cause__", None) or error).strip().splitlines()[0]
        return message.removeprefix("invalid regular expression: ")
    return None
