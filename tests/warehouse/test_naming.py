"""Table and column names people can type: every name the warehouse makes works unquoted."""

import pytest
from django.db import connection

from warehouse.naming import BUILTIN_TABLE_NAMES, identifier_base, reserved_words, unique_identifier, unique_identifiers

pytestmark = pytest.mark.django_db

SCRATCH = "naming_scratch"


@pytest.fixture
def scratch():
    """A schema to create tables in and query them by their bare names."""
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE SCHEMA {SCRATCH}")
        cursor.execute(f"SET LOCAL search_path = {SCRATCH}")
        yield cursor


def works_unquoted(cursor, name: str) -> None:
    """CREATE it quoted, as the sync does; read it back unquoted, as a table and as a column."""
    cursor.execute(f'CREATE TABLE {SCRATCH}."{name}" ("{name}" int)')
    cursor.execute(f"SELECT count(*) FROM {name}")  # noqa: S608 - the point: a bare identifier
    cursor.execute(f"SELECT {name} FROM {SCRATCH}.{name} WHERE {name} = 1 ORDER BY {name}")  # noqa: S608


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("select", "select_"),
        ("user", "user_"),
        ("order", "order_"),
        ("table", "table_"),
        ("Order", "order_"),
        ("JOIN", "join_"),  # reserved, though it may name a function or type
        ("time", "time"),  # a keyword PostgreSQL lets name tables and columns
        ("Clicked nav ünïcode", "clicked_nav_unicode"),
        ("Größe", "grosse"),
        ("注册", "zhuce"),
        ("Ελληνικά", "ellinika"),
        ("Signed Up", "signed_up"),
        ("9 lives", "_9_lives"),
        ("!!!", "event"),
    ],
)
def test_names_become_lowercase_ascii_that_works_unquoted(scratch, raw, expected):
    name = identifier_base(raw, empty="event")
    assert name == expected
    works_unquoted(scratch, name)


def test_every_keyword_of_the_server_gets_a_name_that_works_unquoted(scratch):
    scratch.execute("SELECT word, catcode FROM pg_get_keywords()")
    keywords = scratch.fetchall()
    assert {"select", "user", "order", "table"} <= reserved_words()
    names = unique_identifiers([word for word, _ in keywords], empty="event")
    for (word, category), name in zip(keywords, names, strict=True):
        assert name.isascii() and name == name.lower()
        assert (name != word) == (category in ("R", "T")), (word, category, name)
        works_unquoted(scratch, name)


def test_long_names_fit_63_bytes_and_stay_distinct(scratch):
    first, second = "Clicked " + "very " * 40 + "long A", "Clicked " + "very " * 40 + "long B"
    assert len(first) > 200
    a, b = unique_identifiers([first, second], empty="event")
    assert len(a.encode()) <= 63 and len(b.encode()) <= 63
    assert a != b and a.startswith("clicked_very_very")
    assert identifier_base("ü" * 200) == identifier_base("ü" * 200)  # deterministic
    works_unquoted(scratch, a)
    works_unquoted(scratch, b)
    wide = identifier_base("注" * 200, empty="event")  # transliteration lengthens it: still cut to 63
    assert len(wide.encode()) <= 63
    works_unquoted(scratch, wide)


def test_collisions_get_deterministic_suffixes(scratch):
    raws = ["Signed Up", "signed-up", "SIGNED UP!", "select", "Select", "users"]
    names = unique_identifiers(raws, reserved=BUILTIN_TABLE_NAMES, empty="event")
    assert names == ["signed_up", "signed_up_2", "signed_up_3", "select_", "select_2", "users_2"]
    assert unique_identifiers(raws, reserved=BUILTIN_TABLE_NAMES, empty="event") == names
    for name in names:
        works_unquoted(scratch, name)


def test_built_in_names_are_never_given(scratch):
    for builtin in sorted(BUILTIN_TABLE_NAMES):
        name = unique_identifier(builtin, taken=set(), reserved=BUILTIN_TABLE_NAMES, empty="event")
        assert name not in BUILTIN_TABLE_NAMES
        works_unquoted(scratch, name)
