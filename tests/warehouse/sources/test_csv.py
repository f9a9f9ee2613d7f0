import contextlib
import io

import pytest
from django.db import connection

from warehouse.models import CsvUpload, CsvUploadStatus
from warehouse.sources.csvfile import CsvError
from warehouse.sources.services import SourceError, csv_load, csv_stage, uploads_schema_name
from warehouse.sources.sql import ALL_FIT, CHECK_EACH, FIT_OR_BLANK

pytestmark = pytest.mark.usefixtures("drop_schemas")


def rows(environment, table):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT * FROM "{uploads_schema_name(environment)}"."{table}"')  # noqa: S608 - test names
        return cursor.fetchall()


def column_types(environment, table):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
            [uploads_schema_name(environment), table],
        )
        return cursor.fetchall()


def test_types_are_inferred_and_values_typed(environment, load_csv):
    load_csv(
        "id,amount,active,signed_up,Company Name\n"
        "1,9.5,true,2024-05-01,Acme\n"
        "2,-3,no,2024-05-02T10:00:00Z,\n"
        '3,,,,"Beta, Inc"\n',
        table="accounts",
    )
    assert column_types(environment, "accounts") == [
        ("id", "bigint"),
        ("amount", "numeric"),
        ("active", "boolean"),
        ("signed_up", "timestamp with time zone"),
        ("company_name", "text"),
    ]
    got = rows(environment, "accounts")
    assert [r[0] for r in got] == [1, 2, 3]
    assert got[1][2] is False and got[2][1] is None and got[2][2] is None
    assert got[2][4] == "Beta, Inc"
    assert got[1][4] is None  # an unquoted empty field is NULL


def test_bom_embedded_newlines_and_other_delimiters(environment, load_csv):
    load_csv(b'\xef\xbb\xbfname;note\nann;"line one\nline two"\nbob;x;y\n'.replace(b";x;y", b";x"), table="notes")
    assert column_types(environment, "notes")[0] == ("name", "text")
    assert rows(environment, "notes") == [("ann", "line one\nline two"), ("bob", "x")]
    load_csv("a\tb\n1\t2\n3\t4\n", table="tabs")
    assert rows(environment, "tabs") == [(1, 2), (3, 4)]


@pytest.mark.parametrize(
    ("text", "delimiter"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2,5;3\n", ";"),  # a decimal comma inside a field
        ('"x, y"|b\n"1,2"|3\n', "|"),
        ("a\tb\n1\t2\n", "\t"),
        ("only\n1\n", ","),  # one column: nothing splits it
        ('",' * 32_768, ","),  # once 11-32 s in csv.Sniffer, holding the process's other threads
    ],
)
def test_the_delimiter_is_the_one_that_splits_the_lines_alike(text, delimiter):
    from warehouse.sources.csvfile import sniff_layout

    if text.startswith('",'):
        with pytest.raises(CsvError):  # one unterminated quoted field: refused, and at once
            sniff_layout(text.encode())
        return
    assert sniff_layout(text.encode()).delimiter == delimiter


def test_header_names_follow_the_property_column_rules(environment, load_csv):
    load_csv("Sign-up Date,2nd value,a b,a-b,,ÉMAIL\nx,y,z,w,v,u\n", table="odd")
    assert [name for name, _ in column_types(environment, "odd")] == [
        "sign_up_date",
        "_2nd_value",
        "a_b",
        "a_b_2",
        "column_5",
        "email",  # É transliterated, as in defined events' and API events' names (warehouse/naming.py)
    ]


def test_header_only_file_gives_an_empty_table(environment, load_csv):
    load_csv("a,b\n", table="empty")
    assert rows(environment, "empty") == []


@pytest.mark.parametrize(
    ("content", "line", "column", "message"),
    [
        (b"", 1, None, "the file is empty"),
        (b"\xef\xbb\xbf\n\n", 1, None, "the file is empty"),
        (b"a,b,a\n1,2,3\n", 1, "a", "duplicate header 'a' (columns 1 and 3)"),
        (b"a,b\n1,2\n3\n", 3, "b", "fewer fields"),
        (b'a,b\n1,2\n"x\ny",2\n5,6,7\n', 5, None, "more fields"),
        (b'a,b\n1,2\n"unterminated,2\n3,4\n', 5, None, "unterminated quote"),
        (b"a,b\n1,2\n\xff,2\n", 3, None, "not valid UTF-8"),
        (b"a,\xff\n1,2\n", 1, None, "not valid UTF-8"),
    ],
)
def test_bad_files_are_reported_with_line_and_column(environment, content, line, column, message):
    with pytest.raises(CsvError) as caught:
        csv_stage(environment=environment, fileobj=io.BytesIO(content), filename="bad.csv")
    assert caught.value.line == line
    assert caught.value.column == column
    assert message in caught.value.message
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname IN ('heapsite_staging', %s)",
            [uploads_schema_name(environment)],
        )
        assert cursor.fetchone()[0] == 0, "a failed load leaves no table behind"


def test_type_overrides(environment, load_csv):
    load_csv("zip,n\n01234,1\n99999,2\n", table="zips", column_types={"zip": "text"})
    assert rows(environment, "zips") == [("01234", 1), ("99999", 2)]
    with pytest.raises(CsvError) as caught:
        load_csv("n,label\n1,a\n2,b\n", table="bad", column_types={"label": "integer"})
    assert caught.value.column == "label"
    assert "data row 1: 'a' is not integer" in caught.value.message
    with pytest.raises(SourceError, match="unknown type 'money'"):
        load_csv("n\n1\n", table="bad2", column_types={"n": "money"})


def test_replace_or_refuse_an_existing_table(environment, load_csv):
    load_csv("a\n1\n", table="t")
    with pytest.raises(SourceError, match="already exists; choose replace"):
        load_csv("a\n2\n", table="t")
    assert rows(environment, "t") == [(1,)]
    load_csv("b\nx\n", table="t", replace=True)
    assert rows(environment, "t") == [("x",)]


def test_a_failed_load_keeps_the_previous_table_and_the_staged_rows(environment, load_csv):
    load_csv("a\n1\n", table="t")
    upload = csv_stage(environment=environment, fileobj=io.BytesIO(b"a\nnot a number\n"), filename="t.csv")
    with pytest.raises(CsvError):
        csv_load(upload=upload, table_name="t", column_types={"a": "integer"}, replace=True)
    assert rows(environment, "t") == [(1,)]
    upload.refresh_from_db()
    assert upload.status == CsvUploadStatus.STAGED
    csv_load(upload=upload, table_name="t", replace=True)  # as inferred: text
    assert rows(environment, "t") == [("not a number",)]
    assert CsvUpload.objects.get(pk=upload.pk).status == CsvUploadStatus.LOADED


def test_abandoned_staged_uploads_are_discarded_by_the_scheduler(environment):
    from datetime import timedelta

    from django.utils import timezone

    from warehouse.scheduling import tick

    fresh = csv_stage(environment=environment, fileobj=io.BytesIO(b"a\n1\n"), filename="fresh.csv")
    old = csv_stage(environment=environment, fileobj=io.BytesIO(b"a\n2\n"), filename="old.csv")
    CsvUpload.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    tick()
    assert CsvUpload.objects.get(pk=old.pk).status == CsvUploadStatus.DISCARDED
    assert CsvUpload.objects.get(pk=fresh.pk).status == CsvUploadStatus.STAGED
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'heapsite_staging'")
        assert [row[0] for row in cursor.fetchall()] == [fresh.staging_table]


TRICKY_VALUES = [
    "1",
    " 42 ",
    "+7",
    "-0",
    "007",
    "123456789012345678",
    "1234567890123456789",
    " -123456789012345678 ",
    "1.5",
    ".5",
    "5.",
    "-1.5e3",
    "1.5e-3",
    "1e5",
    "1_000",
    "0x1F",
    "NaN",
    "Infinity",
    "1,5",
    "1 2",
    "--1",
    "+",
    "true",
    " FALSE ",
    "t",
    "Y",
    "no",
    "on",
    "off",
    "1.0",
    "yes!",
    "2024-05-01",
    "2024-05-01T10:00:00Z",
    "2024-05-01 10:00:00",
    "2024-05-01T10:00",
    " 2024-05-01 ",
    "2024-05-01T10:00:00.123+05:30",
    "2024-05-01 10:00:00 -0800",
    "2024-05-01T10",
    "2024-5-01",
    "2024-05-01 PST",
    "today",
    "2024-05-01T10:00:00ZZ",
    "12345-05-01",
    "2024-05-01\t",
    "\t5",
    "abc",
    "",
]


@pytest.mark.parametrize("column_type", ["integer", "numeric", "boolean", "timestamp"])
def test_the_typed_pass_checks_each_value_as_inference_does(column_type):
    """The cheap per-value check of the load (fits_guard) says what the inference mask says, value by value."""
    from psycopg2 import sql

    from warehouse.sources import sql as source_sql

    value = sql.SQL("v")
    query = sql.SQL("SELECT v, coalesce({guard}, false), {mask} & {bit} <> 0 FROM unnest(%s::text[]) AS v").format(
        guard=source_sql.fits_guard(value, column_type),
        mask=source_sql._fit_mask(sql.SQL("NULLIF(btrim(v), '')")),
        bit=sql.Literal(source_sql._FIT_BITS[column_type]),
    )
    with connection.cursor() as cursor:
        cursor.execute(query, [[v for v in TRICKY_VALUES if v.strip(" ")]])
        disagreements = [(v, guard, mask) for v, guard, mask in cursor.fetchall() if guard != mask]
    assert disagreements == []


def big_file(rows: int, late_value: str) -> str:
    lines = ["n,code"] + [f"{i},{i}" for i in range(rows)]
    lines.append(f"{rows},{late_value}")  # past the sample's first rows
    return "\n".join(lines) + "\n"


def test_a_value_the_sample_missed_widens_the_column_at_load(environment, load_csv):
    upload = load_csv(big_file(30_000, "n/a"), table="late")
    assert column_types(environment, "late") == [("n", "bigint"), ("code", "text")]
    assert rows(environment, "late")[-1] == (30_000, "n/a")
    assert [column["type"] for column in upload.columns] == ["integer", "text"]
    load_csv(big_file(30_000, "2.5"), table="late_numeric")
    assert column_types(environment, "late_numeric")[1] == ("code", "numeric")


def test_a_chosen_type_that_a_late_value_does_not_fit_names_its_row(environment):
    upload = csv_stage(environment=environment, fileobj=io.BytesIO(big_file(30_000, "n/a").encode()), filename="c.csv")
    assert [column["inferred"] for column in upload.columns] == ["integer", "integer"]  # from the sample
    with pytest.raises(CsvError) as caught:
        csv_load(upload=upload, table_name="c", column_types={"code": "numeric"})
    assert caught.value.column == "code"
    assert caught.value.message == "data row 30001: 'n/a' is not numeric"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_tables WHERE schemaname = %s", [uploads_schema_name(environment)])
        assert cursor.fetchone()[0] == 0


def test_a_value_postgresql_cannot_store_names_the_fix(environment, load_csv):
    with pytest.raises(CsvError, match="load that column as text"):
        load_csv("day\n2024-02-01\n2024-02-30\n", table="days")


def test_the_page_sending_the_inferred_types_back_still_widens(environment):
    upload = csv_stage(environment=environment, fileobj=io.BytesIO(big_file(30_000, "n/a").encode()), filename="p.csv")
    shown = {column["name"]: column["inferred"] for column in upload.columns}  # what the form posts unchanged
    csv_load(upload=upload, table_name="p", column_types=shown)
    assert column_types(environment, "p") == [("n", "bigint"), ("code", "text")]


def test_inside_a_callers_transaction_the_typed_pass_runs_on_one_connection(environment):
    from django.db import transaction

    with transaction.atomic():
        upload = csv_stage(environment=environment, fileobj=io.BytesIO(b"a,b\n1,x\n2,y\n"), filename="t.csv")
        csv_load(upload=upload, table_name="inside")
    assert rows(environment, "inside") == [(1, "x"), (2, "y")]
    with pytest.raises(CsvError, match="data row 2: 'y' is not integer"), transaction.atomic():
        upload = csv_stage(environment=environment, fileobj=io.BytesIO(b"a,b\n1,2\n2,y\n"), filename="u.csv")
        csv_load(upload=upload, table_name="inside2", column_types={"b": "integer"})


def staging_table_of(columns: list[list[str | None]]) -> str:
    """A staging table (text columns c1, c2, … in file order) holding these columns' values, row by row."""
    from psycopg2 import sql

    from warehouse.sources import sql as source_sql

    names = sql.SQL(", ").join(map(sql.Identifier, source_sql.staging_columns(len(columns))))
    with connection.cursor() as cursor:
        source_sql.stage_create(cursor, table="check_values", column_count=len(columns))
        for values in zip(*columns, strict=True):
            cursor.execute(
                sql.SQL("INSERT INTO {}.{} ({}) VALUES %s").format(
                    sql.Identifier(source_sql.STAGING_SCHEMA), sql.Identifier("check_values"), names
                ),
                [tuple(values)],
            )
    return "check_values"


@pytest.mark.usefixtures("drop_schemas")
@pytest.mark.parametrize("column_type", ["integer", "numeric", "boolean", "timestamp"])
def test_the_whole_column_check_says_what_the_mask_says(column_type):
    """columns_fit_whole on one value per column agrees with the inference mask, blank values included."""
    from psycopg2 import sql

    from warehouse.sources import sql as source_sql

    values = [
        *TRICKY_VALUES,
        "   ",
        " 1.5e-3",
        "+.5e-3",
        "12.e-5",
        "1.2E+5",
        "0000000000000000001",
        "2024-05-01 10:00\t",
    ]
    table = staging_table_of([[value] for value in values])
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT v, {mask} & {bit} <> 0 FROM unnest(%s::text[]) AS v").format(
                mask=source_sql._fit_mask(sql.SQL("NULLIF(btrim(v), '')")),
                bit=sql.Literal(source_sql._FIT_BITS[column_type]),
            ),
            [values],
        )
        mask = dict(cursor.fetchall())
        columns = dict.fromkeys(range(len(values)), column_type)
        for blanks in (True, False):
            fit = source_sql.columns_fit_whole(cursor, table=table, columns=columns, blanks=blanks)
            said = {value: index in fit for index, value in enumerate(values)}
            expected = {value: mask[value] and (blanks or bool(value.strip(" "))) for value in values}
            assert said == expected, blanks


@pytest.mark.usefixtures("drop_schemas")
def test_joined_values_cannot_pass_for_others(monkeypatch):
    """Values are joined by a separator to be checked at once: a value holding it, a value whose spaces
    could reach into the next one, or one too long to join leaves the column to the per-value check."""
    from warehouse.sources import sql as source_sql

    monkeypatch.setattr(source_sql, "_JOINED_CHUNK_PAGES", 1)
    good = [str(i) for i in range(2000)]  # several pages, so several chunks
    columns = {
        0: good,
        1: [*good[:-1], "1\x012"],
        2: [*good[:-2], "2024-05-01 10:00", "Z"],
        3: [*good[:-1], "1" + " " * 2000],
        4: [*good[:1000], None, "", *good[1002:]],
    }
    table = staging_table_of([columns[index] for index in sorted(columns)])
    types = {0: "integer", 1: "integer", 2: "timestamp", 3: "integer", 4: "integer"}
    with connection.cursor() as cursor:
        assert source_sql.columns_fit_whole(cursor, table=table, columns=types, blanks=False) == {0}
        assert source_sql.columns_fit_whole(cursor, table=table, columns=types, blanks=True) == {0, 4}


def mixed_file(rows: int, *, late: str = "") -> str:
    """Every shape each type accepts (spaces, signs, zones, blanks, NULLs, quoted fields) with a `late` row."""
    lines = ["id,amount,won,at,label,code"]
    amounts = ["1.5", " -2 ", "+.5", "1e5", "", '" "', "007", "123456789012345678901"]
    wons = ["true", " FALSE ", "y", "N", "", "t"]
    ats = ["2024-05-01", "2024-05-01T10:00:00Z", " 2024-05-01 10:00:00 -0800 ", "2024-05-01T10:00:00.123+05:30", ""]
    for i in range(rows):
        lines.append(
            f'{i},{amounts[i % len(amounts)]},{wons[i % len(wons)]},{ats[i % len(ats)]},"x, {i}",{i % 1000:03d}'
        )
    if late:
        lines.append(late)
    return "\n".join(lines) + "\n"


@contextlib.contextmanager
def nothing_fits_meanwhile(**kwargs):
    yield set


def load_both_ways(environment, monkeypatch, content: str, **options):
    """The table as the whole-column check lets it be built, and as the value-by-value checked pass builds
    it (every value checked in every build, as before); what the fast way's builds were told of the
    columns (None: check each value), and whether one checked each value of a typed column."""
    from warehouse.sources import sql as source_sql

    monkeypatch.setattr(source_sql, "_JOINED_CHUNK_PAGES", 4)
    builds: dict[str, list] = {"fast": [], "slow": []}
    checked_each = dict.fromkeys(builds, False)  # whether a build checked each value of a typed column
    build_table = source_sql.build_table

    def spy(*args, known=None, **kwargs):
        if kwargs["table"] == "slow":
            known = None  # every value checked in every build, as before the whole-column check
        builds[kwargs["table"]].append(known)
        checked_each[kwargs["table"]] |= any(
            kind != "text" and (known is None or known[index] == CHECK_EACH)
            for index, (_, kind) in enumerate(kwargs["columns"])
        )
        return build_table(*args, known=known, **kwargs)

    monkeypatch.setattr(source_sql, "build_table", spy)
    results = []
    for table in builds:
        if table == "slow":  # as if a value of every typed column did not fit
            monkeypatch.setattr(source_sql, "columns_fit_whole", lambda cursor, **kwargs: set())
            monkeypatch.setattr(source_sql, "columns_fit_whole_meanwhile", nothing_fits_meanwhile)
        try:
            upload = csv_stage(environment=environment, fileobj=io.BytesIO(content.encode()), filename="m.csv")
            upload = csv_load(upload=upload, table_name=table, **options)
            results.append((column_types(environment, table), rows(environment, table), upload.columns))
        except CsvError as exc:
            results.append(("error", str(exc)))
    return results, builds["fast"], checked_each["fast"]


def test_the_pass_after_a_whole_column_check_builds_what_the_checked_pass_builds(environment, monkeypatch):
    (fast, slow), built_with, _ = load_both_ways(environment, monkeypatch, mixed_file(3000))
    # First by casts alone; a blank amount (" ") fails that, the check says it is blank, built again with blanks.
    assert built_with == [
        [ALL_FIT, ALL_FIT, ALL_FIT, ALL_FIT, CHECK_EACH, ALL_FIT],
        [ALL_FIT, FIT_OR_BLANK, ALL_FIT, ALL_FIT, CHECK_EACH, ALL_FIT],
    ]
    assert fast == slow
    assert [kind for _, kind in fast[0]] == [
        "bigint",
        "numeric",
        "boolean",
        "timestamp with time zone",
        "text",
        "bigint",
    ]


@pytest.mark.parametrize(
    ("late", "options", "outcome"),
    [
        ("on,true,2024-05-01,x,1", {}, "amount text"),  # boolean to PostgreSQL, not to the mask
        ("1,true,2024-05-01,x,1", {}, "amount numeric"),  # fits: no fallback
        ("1.2e-5,true,2024-05-01,x,1", {}, "amount text"),  # numeric to PostgreSQL, not to the mask
        ("1,true,2024-05-01,x,\t5", {}, "code text"),  # a tab: the cast accepts it, the mask does not
        ("1,true,2024-05-01,x,n/a", {"column_types": {"code": "numeric"}}, "data row 30001: 'n/a' is not numeric"),
        ("1,true,2024-02-30,x,1", {}, "out of range"),  # fits the pattern, not the calendar: the cast's error
    ],
)
def test_a_late_value_gives_what_the_checked_pass_gives(environment, monkeypatch, late, options, outcome):
    """Past the sample (30,000 rows, many chunks of pages): the result equals the value-by-value pass's."""
    (fast, slow), _, checked_each = load_both_ways(
        environment, monkeypatch, mixed_file(30_000, late=f"30000,{late}"), **options
    )
    assert fast == slow
    fits = outcome in ("amount numeric", "out of range")
    assert checked_each != fits  # the whole-column check let the pass only cast, or it checked each value
    if fast[0] == "error":
        assert outcome in fast[1]
    else:
        column, kind = outcome.split()
        assert dict(fast[0])[column] == {"text": "text", "numeric": "numeric"}[kind]
        assert fast[1][-1][0] == 30_000


@pytest.mark.usefixtures("drop_schemas")
def test_inference_from_joined_values_says_what_the_mask_says():
    """infer_types reads each column's values joined; the value-by-value mask (column_fits) gives the same types,
    for each tricky value alone and for mixes (blanks, a value holding the separator, one too long to join)."""
    from warehouse.sources import sql as source_sql

    mixes = [
        ["1", "2.5"],
        ["1", ""],
        ["", " "],
        ["1", "x"],
        ["true", "2024-05-01"],
        ["1\x012", "3"],
        ["1" + " " * 2000, "2"],
        ["2024-05-01 10:00", "Z"],
        [None, None],
        ["1.5e-3", "2"],
    ]
    columns = [[value, None] for value in TRICKY_VALUES] + mixes
    table = staging_table_of(columns)
    with connection.cursor() as cursor:
        inferred = source_sql.infer_types(cursor, table=table, column_count=len(columns))
        by_mask = source_sql.column_fits(cursor, table=table, columns=range(len(columns)), sample=True)
    assert inferred == [by_mask[index].narrowest for index in range(len(columns))]
    assert inferred[-10:] == ["numeric", "integer", "text", "text", "text", "text", "integer", "text", "text", "text"]


@pytest.mark.usefixtures("drop_schemas")
def test_a_whole_column_check_that_fails_says_no_column_fits(caplog):
    """The check on its own connection only spares work: its failure leaves each value to be checked."""
    from warehouse.sources import sql as source_sql

    with source_sql.columns_fit_whole_meanwhile(table="no_such_table", columns={0: "integer"}, blanks=False) as fit:
        assert fit() == set()
    assert "the whole-column check failed" in caplog.text


def test_a_wide_file_is_inferred_checked_and_loaded(environment, load_csv):
    """1,000 columns: more than one query's select list holds; the checks read them a batch at a time."""
    header = ",".join(f"c{i}" for i in range(1000))
    body = "\n".join(",".join("x" if i == 500 and row == 1 else str(row + i) for i in range(1000)) for row in range(3))
    upload = load_csv(f"{header}\n{body}\n", table="wide")
    kinds = [column["type"] for column in upload.columns]
    assert kinds == ["integer"] * 500 + ["text"] + ["integer"] * 499
    assert rows(environment, "wide")[2][:2] == (2, 3)


def test_loads_of_one_environment_side_by_side_take_turns(environment):
    """Found in review: two loads at once deadlocked or collided on catalog names (500s), and a
    double submit loaded one upload twice. Each now waits for the other; the double submit is told."""
    import threading

    from django.db import connections

    first = csv_stage(environment=environment, fileobj=io.BytesIO(b"a\n1\n2\n"), filename="one.csv")
    second = csv_stage(environment=environment, fileobj=io.BytesIO(b"b\n3\n"), filename="two.csv")
    outcomes: list = []

    def load(upload, table):
        try:
            outcomes.append(csv_load(upload=CsvUpload.objects.get(pk=upload.pk), table_name=table).table_name)
        except SourceError as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=load, args=(first, "deals")),
        threading.Thread(target=load, args=(first, "deals")),  # the double click
        threading.Thread(target=load, args=(second, "other")),  # the first load of the schema, at once
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == sorted(
        ["deals", "other", f"upload {first.pk} is loaded, not staged (loaded or discarded meanwhile)"]
    ), outcomes
    assert rows(environment, "deals") == [(1,), (2,)] and rows(environment, "other") == [(3,)]


def test_a_file_whose_rows_postgresql_cannot_hold_fails_its_upload_by_name(environment):
    # 1,600 columns of 8 characters: "row is too big" was a 500, and left an upload marked staged
    # whose page was a 500 for everyone.
    header = ",".join(f"c{i}" for i in range(1600))
    content = f"{header}\n{','.join(['abcdefgh'] * 1600)}\n".encode()
    with pytest.raises(CsvError) as caught:
        csv_stage(environment=environment, fileobj=io.BytesIO(content), filename="wide.csv")
    assert "a row does not fit in a PostgreSQL table" in caught.value.message
    assert CsvUpload.objects.get().status == CsvUploadStatus.FAILED


@pytest.mark.parametrize("delimiter", ["\u00e9", "\u2028", "\x00", ";;"])
def test_a_delimiter_copy_cannot_take_is_named(environment, delimiter):
    with pytest.raises(CsvError) as caught:
        csv_stage(environment=environment, fileobj=io.BytesIO(b"a,b\n1,2\n"), filename="x.csv", delimiter=delimiter)
    assert "delimiter" in caught.value.message


def test_dropping_a_table_named_with_a_nul_finds_none(environment):
    from warehouse.sources.services import csv_table_drop

    with pytest.raises(SourceError):
        csv_table_drop(environment=environment, table_name="deals\x00", user=None)


def test_a_line_holding_only_the_end_of_data_marker_loses_nothing(environment):
    # Before PostgreSQL 18, COPY takes a line holding only \. for the end of the data: an upload of
    # 1,004 lines loaded 1 row and said so. Refused there, with the line; 18 reads it as a value.
    content = b"pattern\n/home\n\\.\n" + b"/pricing\n" * 1000
    if connection.pg_version >= 180000:
        assert csv_stage(environment=environment, fileobj=io.BytesIO(content), filename="p.csv").row_count == 1002
        return
    with pytest.raises(CsvError) as caught:
        csv_stage(environment=environment, fileobj=io.BytesIO(content), filename="p.csv")
    assert caught.value.line == 3 and "ends PostgreSQL's reading" in caught.value.message


def test_a_header_past_the_sample_is_read_whole(environment, load_csv):
    """Long column names: a header row of ~125 kB (past the 64 kB sample) is read to its end, quoted
    line breaks included; one past MAX_HEADER_BYTES is refused as such (it said "more fields")."""
    from warehouse.sources.csvfile import MAX_HEADER_BYTES

    names = [f'"column {i} {"x" * 160}{chr(10) if i == 5 else ""}"' for i in range(700)]
    upload = load_csv(",".join(names) + "\n" + ",".join(str(i) for i in range(700)) + "\n", table="long_names")
    assert len(upload.columns) == 700
    assert rows(environment, "long_names")[0][:3] == (0, 1, 2)
    huge = ",".join(f"c{i}_{'y' * 1000}" for i in range(1100)) + "\n1\n"
    assert len(huge) > MAX_HEADER_BYTES
    with pytest.raises(CsvError, match="the header row does not end within 1024 kB"):
        csv_stage(environment=environment, fileobj=io.BytesIO(huge.encode()), filename="huge.csv")
