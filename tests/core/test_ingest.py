"""core.data.ingest: every bad input of the design's list, built in code, with exact expected frames."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import io
import random
import re
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from core.config import get_settings
from core.data import _limits
from core.data.ingest import IngestResult, read_table
from core.errors import EmptyInputError, FileTooLargeError, InputError, RiskboardError, UnsupportedFormatError

ROOT = Path(__file__).resolve().parents[2]
NAN = np.nan


def settings(**changes):
    return replace(get_settings(), **changes)


def text(values) -> pd.Series:
    return pd.Series(values, dtype="str")


def frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def check(result: IngestResult, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(result.frame, expected)


def xlsx_bytes(rows, *, extra_sheets=(), title="Sheet") -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    for name in extra_sheets:
        book.create_sheet(name)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def patch_zip(data: bytes, member: str, change) -> bytes:
    """Rewrite one member of a zip (an .xlsx) with ``change(bytes) -> bytes``."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            zout.writestr(info.filename, change(content) if info.filename == member else content)
    return out.getvalue()


def parquet_bytes(table: pa.Table | pd.DataFrame, **kwargs) -> bytes:
    out = io.BytesIO()
    if isinstance(table, pd.DataFrame):
        table.to_parquet(out, **kwargs)
    else:
        pq.write_table(table, out)
    return out.getvalue()


# --- empty inputs ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"   ", b" \n\t\n \r\n", "\ufeff".encode()])
def test_empty_file(data):
    with pytest.raises(EmptyInputError, match="empty"):
        read_table(data, "empty.csv")


@pytest.mark.parametrize("data", [b"a,b,c", b"a,b,c\n", b"a,b,c\r\n\r\n\n", b"\xef\xbb\xbfa;b;c\n"])
def test_header_only(data):
    with pytest.raises(EmptyInputError, match="header row but no data rows"):
        read_table(data, "header.csv")


def test_empty_xlsx_and_header_only_xlsx():
    with pytest.raises(EmptyInputError, match="empty"):
        read_table(xlsx_bytes([]), "x.xlsx")
    with pytest.raises(EmptyInputError, match="header row but no data rows"):
        read_table(xlsx_bytes([["a", "b"]]), "x.xlsx")


# --- delimiters and encodings ---------------------------------------------------------------------------------------

def test_semicolon_with_decimal_comma():
    result = read_table(b"name;amount;count\nx;3,5;1\ny;4,25;2\n", "eu.csv")
    assert (result.format, result.delimiter) == ("csv", ";")
    check(result, frame(name=text(["x", "y"]), amount=[3.5, 4.25], count=[1, 2]))
    assert result.warnings == ["column 'amount': read ',' as the decimal point (for example '3,5' -> 3.5)"]


def test_semicolon_with_thousands_dots_and_decimal_comma():
    """German/French Excel exports write 1.234,5: '.' groups thousands, ',' is the decimal point."""
    result = read_table(b"amount;count\n1.234,5;1\n-12.345.678,25;2\n3,5;3\n1.000;4\n", "eu.csv")
    check(result, frame(amount=[1234.5, -12345678.25, 3.5, 1000.0], count=[1, 2, 3, 4]))
    assert result.warnings == ["column 'amount': read '.' as a thousands separator and ',' as the decimal point "
                               "(for example '1.234,5' -> 1234.5)"]
    # a '.' that is not a thousands separator (0.5, 1.23,5) keeps the column as text; so does a comma-delimited file
    for data, name in [(b"a;b\n1.234,5;x\n0.5;y\n", "x.csv"), (b"a;b\n1.23,5;x\n2,5;y\n", "x.csv"),
                       (b'a,b\n"1.234,5",x\n"2,5",y\n', "x.csv")]:
        assert read_table(data, name).frame["a"].dtype == "str"


@pytest.mark.parametrize(("data", "delimiter"), [
    (b"sep=;\na;b\n1,5;x\n2,5;y\n", ";"),
    (b'"sep=,"\r\na,b\r\n1.5,x\r\n2.5,y\r\n', ","),
    (b"\xef\xbb\xbfSEP=|\na|b\n1.5|x\n2.5|y\n", "|"),
])
def test_excel_sep_hint_line_names_the_delimiter_and_is_not_a_row(data, delimiter):
    result = read_table(data, "excel.csv")
    assert result.delimiter == delimiter
    check(result, frame(a=[1.5, 2.5], b=text(["x", "y"])))


def test_semicolon_with_commas_inside_values():
    result = read_table(b"city;note\nBern;a, b, c\nBasel;d, e\n", "x.csv")
    assert result.delimiter == ";"
    check(result, frame(city=text(["Bern", "Basel"]), note=text(["a, b, c", "d, e"])))


@pytest.mark.parametrize("name", ["data.tsv", "data.csv", "data.txt"])
def test_tab_delimiter(name):
    result = read_table(b"a\tb c\td\n1\tx, y\t2.5\n3\tz\t-1\n", name)
    assert (result.format, result.delimiter) == ("tsv", "\t")
    check(result, frame(a=[1, 3], **{"b c": text(["x, y", "z"])}, d=[2.5, -1.0]))


def test_pipe_delimiter():
    result = read_table(b"a|b\n1|2\n", "x.csv")
    assert result.delimiter == "|"
    check(result, frame(a=[1], b=[2]))


def test_single_column_file():
    check(read_table(b"score\n1\n2\n", "x.csv"), frame(score=[1, 2]))


def test_utf8_bom_is_stripped_from_the_first_name():
    result = read_table("\ufeffid,city\n1,Zürich\n".encode(), "bom.csv")
    assert list(result.frame.columns) == ["id", "city"]
    assert result.encoding == "utf-8"
    check(result, frame(id=[1], city=text(["Zürich"])))


def test_latin1():
    result = read_table("id,city\n1,Zürich\n2,Genève\n".encode("latin-1"), "latin.csv")
    check(result, frame(id=[1, 2], city=text(["Zürich", "Genève"])))
    assert result.encoding == "cp1252"
    assert "not UTF-8" in result.warnings[0]


def test_bytes_undefined_in_cp1252_fall_back_to_latin1():
    result = read_table(b"a,b\n1,x\x81y\n", "x.csv")
    assert result.encoding == "latin-1"
    check(result, frame(a=[1], b=text(["x\x81y"])))


def test_utf16_with_bom_as_excel_unicode_text_saves_it():
    result = read_table("a\tb\n1\tZürich\n".encode("utf-16"), "unicode.txt")
    check(result, frame(a=[1], b=text(["Zürich"])))


def test_binary_garbage_named_csv():
    with pytest.raises(InputError, match="binary"):
        read_table(b"\x00\x01\x02\x03abc\n", "x.csv")


# --- quoting and ragged rows ----------------------------------------------------------------------------------------

def test_quoted_newlines_delimiters_and_quotes():
    data = b'id,comment,n\n1,"line one\nline two",5\n2,"a, ""quoted"" b",6\n3,plain,7\n'
    check(read_table(data, "q.csv"),
          frame(id=[1, 2, 3], comment=text(["line one\nline two", 'a, "quoted" b', "plain"]), n=[5, 6, 7]))


def test_crlf_line_endings():
    check(read_table(b"a,b\r\n1,2\r\n3,4\r\n", "x.csv"), frame(a=[1, 3], b=[2, 4]))


@pytest.mark.parametrize("data, line", [
    (b"a,b,c\n1,2,3\n4,5,6,7\n", 3),
    (b'a,b,c\n"x\ny",2,3\n\n4,5,6\n7,8,9,10\n', 6),
])
def test_ragged_row_names_its_line(data, line):
    with pytest.raises(InputError, match=rf"^Line {line} has 4 fields but the header has 3"):
        read_table(data, "ragged.csv")


@pytest.mark.parametrize("notes, header_line", [
    (b"Sales export 2024\n\n", 3),  # a title and a blank line
    (b"Report, 2024-01-01\nGenerated by the bank\n", 3),  # notes with a comma: fewer fields than the header
    (b"\n  Quarterly report  \nSource: bank Q3, 2024\n\n\n", 6),
])
def test_title_and_notes_above_the_header_are_left_out_with_a_warning(notes, header_line):
    result = read_table(notes + b"a,b,c,label\n1,x,4,yes\n2,y,5,no\n3,z,6,no\n", "export.csv")
    check(result, frame(a=[1, 2, 3], b=text(["x", "y", "z"]), c=[4, 5, 6], label=text(["yes", "no", "no"])))
    first = notes.decode().strip().splitlines()[0].strip()
    [warning] = [w for w in result.warnings if "above the header" in w]
    assert warning.startswith(f"{2 if notes.count(b',') else 1} line")
    assert f"(starting {first!r}): the table starts at line {header_line}." in warning


@pytest.mark.parametrize("data, message", [
    # a ragged table stays ragged: the search never cuts a table down to its tail
    (b"Report, 2024\nnotes\n\na,b,c,d\n" + b"1,2,3,4\n" * 12 + b"4,5,6,7,8\n",
     r"^Line 17 has 5 fields but the header has 4"),
    (b"Report, 2024\na,b,c\n1,2,3\n4,5,6,7\n", r"^Line 2 has 3 fields but the header has 2"),
])
def test_a_ragged_table_under_notes_names_its_line_in_the_whole_file(data, message):
    with pytest.raises(InputError, match=message):
        read_table(data, "ragged.csv")


@pytest.mark.parametrize("data, line", [
    (b"a,b,c\n1,2,3,4\n5,6,7,8\n9,10,11,12\n", 2),  # a header that lacks a name is not a note
    (b"Report, 2024\na,b,c\n1,2,3\n4,5,6\n", 2),  # a two-field note over three columns cannot be told from one
])
def test_a_header_short_of_a_name_stays_an_error_naming_its_line(data, line):
    with pytest.raises(InputError, match=rf"^Line {line} has \d fields but the header has \d"):
        read_table(data, "short.csv")


@pytest.mark.parametrize("data", [b"title\none\ntwo\n", b"a,b\n1,2\n3\n4,5\n"])
def test_one_column_files_and_short_rows_are_not_mistaken_for_notes(data):
    result = read_table(data, "x.csv")
    assert not [w for w in result.warnings if "above the header" in w]
    assert result.frame.columns[0] == ("title" if data.startswith(b"title") else "a")


def test_rows_without_any_value_are_skipped_with_a_warning():
    result = read_table(b"a,b\n1,2\n,\n , NA\n\n3,4\n", "x.csv")
    check(result, frame(a=[1, 3], b=[2, 4]))
    assert result.warnings == ["2 rows with no values (every cell empty or missing) were skipped"]
    with pytest.raises(EmptyInputError, match="no data rows"):
        read_table(b"a,b\n,\n,\n", "x.csv")


def test_short_rows_are_padded_with_missing_values():
    check(read_table(b"a,b,c\n1,2,3\n4\n", "x.csv"), frame(a=[1, 4], b=[2.0, NAN], c=[3.0, NAN]))


def test_unclosed_quote_names_its_line():
    with pytest.raises(InputError, match='double quote on line 3 is never closed'):
        read_table(b'a,b\n1,2\n3,"4\n5,6\n', "x.csv")


def test_literal_quote_inside_an_unquoted_value():
    check(read_table(b'name,height\nAl,5\'11"\n', "x.csv"), frame(name=text(["Al"]), height=text(["5'11\""])))


# --- column names ---------------------------------------------------------------------------------------------------

def test_duplicate_names_are_made_unique_with_a_warning():
    result = read_table(b"a,a,b,a,a (2)\n1,2,3,4,5\n", "dup.csv")
    assert list(result.frame.columns) == ["a", "a (3)", "b", "a (4)", "a (2)"]
    assert result.frame.iloc[0].tolist() == [1, 2, 3, 4, 5]
    assert result.warnings == ["duplicate column names were made unique: 'a' -> 'a (3)', 'a' -> 'a (4)'"]


def test_odd_names_are_kept_verbatim_and_empty_names_numbered():
    names = ['<img src=x onerror=alert(1)>', '=HYPERLINK("http://x","y")', "📈 growth", "", "  ", " padded "]
    header = ",".join(f'"{n.replace(chr(34), chr(34) * 2)}"' for n in names)
    result = read_table(f"{header}\n1,2,3,4,5,6\n".encode(), "names.csv")
    assert list(result.frame.columns) == ['<img src=x onerror=alert(1)>', '=HYPERLINK("http://x","y")', "📈 growth",
                                          "column_4", "column_5", "padded"]
    assert all(type(c) is str for c in result.frame.columns)
    assert result.warnings == ["2 column(s) had no name and are named by position: 'column_4', 'column_5'"]


def test_names_that_look_like_missing_values_or_numbers_stay_names():
    result = read_table(b"NA,2020,null\n1,2,3\n", "x.csv")
    assert list(result.frame.columns) == ["NA", "2020", "null"]


def test_generated_name_that_collides_is_deduplicated():
    result = read_table(b"column_2,\n1,2\n", "x.csv")
    assert list(result.frame.columns) == ["column_2", "column_2 (2)"]


# --- values ---------------------------------------------------------------------------------------------------------

def test_all_missing_and_constant_columns():
    result = read_table(b"x,empty,const\n1,,k\n2,NA,k\n3, ,k\n", "x.csv")
    check(result, frame(x=[1, 2, 3], empty=text([NAN, NAN, NAN]), const=text(["k", "k", "k"])))


def test_missing_tokens():
    data = b"v,w\nNA,1\nN/A,2\nn/a,3\nNaN,4\nnan,5\nNULL,6\nnull,7\n#N/A,8\n?,9\n<NA>,10\nNone,11\n-,12\nok,13\n"
    result = read_table(data, "x.csv")
    assert result.frame["v"].isna().tolist() == [True] * 10 + [False] * 3
    assert result.frame["v"].dropna().tolist() == ["None", "-", "ok"]


def test_surrounding_whitespace_is_stripped():
    check(read_table(b"a, b\n 1 , Private\n2,  ?\n", "uci.csv"), frame(a=[1, 2], b=text(["Private", NAN])))


def test_integer_float_and_missing_numbers():
    result = read_table(b"i,f,m\n1,1.5,\n-2,2e3,7\n+3,.5,8\n", "x.csv")
    check(result, frame(i=[1, -2, 3], f=[1.5, 2000.0, 0.5], m=[NAN, 7.0, 8.0]))


def test_numeric_column_with_a_few_strings_is_kept_as_text_with_a_warning():
    values = [str(v) for v in range(1, 98)] + ["unknown", "n/a?", "unknown", "12 years"]
    data = ("age,y\n" + "".join(f"{v},{i % 2}\n" for i, v in enumerate(values))).encode()
    result = read_table(data, "x.csv")
    check(result, frame(age=text(values), y=[i % 2 for i in range(101)]))
    assert result.warnings == [
        "column 'age': 4 of 101 values are not numbers ('unknown', 'n/a?', '12 years'); it is kept as text — fix or "
        "clear those cells to use it as a number"]


def test_mostly_text_column_gives_no_number_warning():
    result = read_table(b"a\nx\ny\n1\n", "x.csv")
    check(result, frame(a=text(["x", "y", "1"])))
    assert result.warnings == []


def test_infinity_is_not_a_number():
    values = [str(v) for v in range(20)] + ["inf"]
    result = read_table(("x\n" + "\n".join(values) + "\n").encode(), "x.csv")
    check(result, frame(x=text(values)))
    assert "1 of 21 values are not numbers ('inf')" in result.warnings[0]


def test_codes_with_leading_zeros_and_long_digit_strings_stay_text():
    result = read_table(b"zip,card,n\n02134,4111111111111111111,1\n10001,4222222222222222222,2\n", "x.csv")
    check(result, frame(zip=text(["02134", "10001"]), card=text(["4111111111111111111", "4222222222222222222"]),
                        n=[1, 2]))
    assert result.warnings[0].startswith("column 'zip': values such as '02134' start with a zero")
    assert result.warnings[1].startswith("column 'card': values such as '4111111111111111111' have more digits")


def test_targets_with_one_class_and_with_three_classes_parse():
    result = read_table(b"x,one,three\n1,yes,a\n2,yes,b\n3,yes,c\n4,yes,a\n", "x.csv")
    check(result, frame(x=[1, 2, 3, 4], one=text(["yes"] * 4), three=text(["a", "b", "c", "a"])))


def test_high_cardinality_ids_parse():
    ids = [f"user-{i:05d}" for i in range(2000)]
    data = ("user,id,v\n" + "".join(f"{u},{i},{i % 3}\n" for i, u in enumerate(ids))).encode()
    check(read_table(data, "ids.csv"), frame(user=text(ids), id=list(range(2000)), v=[i % 3 for i in range(2000)]))


def test_one_row():
    check(read_table(b"a,b,c\n1,x,\n", "x.csv"), frame(a=[1], b=text(["x"]), c=text([NAN])))


def test_more_columns_than_rows():
    header = ",".join(f"c{i}" for i in range(40))
    row = ",".join(str(i) for i in range(40))
    result = read_table(f"{header}\n{row}\n{row}\n".encode(), "wide.csv")
    assert result.frame.shape == (2, 40)
    check(result, pd.DataFrame({f"c{i}": [i, i] for i in range(40)}))


def test_large_table_uses_threads_and_gives_the_same_result():
    n = 400_000  # over the threshold where columns are normalised in parallel
    data = ("a,b,c\n" + "1,x,2.5\n" * n).encode()
    result = read_table(data, "x.csv")
    check(result, frame(a=np.ones(n, dtype=np.int64), b=text(["x"] * n), c=np.full(n, 2.5)))


# --- limits ---------------------------------------------------------------------------------------------------------

def test_file_over_the_size_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setenv("RISKBOARD_MAX_UPLOAD_MB", "0.001")  # 1,048 bytes
    data = b"a,b\n" + b"1,2\n" * 400
    with pytest.raises(FileTooLargeError) as info:
        read_table(data, "big.csv")
    message = str(info.value)
    assert "1,604 bytes" in message and "1,048 bytes" in message and "RISKBOARD_MAX_UPLOAD_MB=0.001" in message


def test_size_limit_applies_to_every_format_even_unsupported_ones():
    with pytest.raises(FileTooLargeError):
        read_table(b"x" * 2000, "big.json", settings=settings(max_upload_mb=0.001))


def test_too_many_rows_in_csv():
    data = b"a\n" + b"1\n" * 11
    assert len(read_table(data, "x.csv", settings=settings(max_rows=11)).frame) == 11
    with pytest.raises(FileTooLargeError, match=r"more than 10 data rows but the limit is 10 .*RISKBOARD_MAX_ROWS"):
        read_table(data, "x.csv", settings=settings(max_rows=10))


def test_too_many_columns_in_csv_header():
    with pytest.raises(FileTooLargeError, match=r"has 6 columns but the limit is 5 \(setting RISKBOARD_MAX_COLUMNS\)"):
        read_table(b"a,b,c,d,e,f\n1,2,3,4,5,6\n", "x.csv", settings=settings(max_columns=5))


def test_gzip_upload_and_gzip_bomb():
    data = gzip.compress(b"a,b\n1,2\n")
    result = read_table(data, "small.csv.gz")
    assert (result.format, result.compression) == ("csv", "gzip")
    check(result, frame(a=[1], b=[2]))
    bomb = gzip.compress(b"a\n" + b"1\n" * 100_000)  # 200 KB unpacked from a few hundred bytes
    assert len(bomb) < 2000
    with pytest.raises(FileTooLargeError, match="gzip file unpacks to more than"):
        read_table(bomb, "bomb.csv.gz", settings=settings(max_upload_mb=0.01))


@pytest.mark.parametrize("name", ["data.gz", "data.gzip", "data"])
def test_gzip_without_an_inner_extension_is_read_as_text(name):
    """The upload widget accepts .gz: 'data.gz' holding a CSV must not be refused for lacking an extension."""
    result = read_table(gzip.compress(b"a;b\n1;x\n2;y\n"), name)
    assert (result.format, result.compression, result.delimiter) == ("csv", "gzip", ";")
    check(result, frame(a=[1, 2], b=text(["x", "y"])))
    with pytest.raises(InputError, match="binary data"):
        read_table(gzip.compress(bytes(range(256)) * 8), name)
    with pytest.raises(UnsupportedFormatError, match=r"'\.json' files"):
        read_table(gzip.compress(b'{"a": 1}'), "data.json.gz")


def test_damaged_gzip():
    with pytest.raises(InputError, match="cannot be unpacked"):
        read_table(gzip.compress(b"a,b\n1,2\n" * 100)[:30], "x.csv.gz")


def test_demo_data_reads_as_expected():
    path = ROOT / "data" / "adult.csv.gz"
    if not path.exists():
        pytest.skip("demo data not present")
    result = read_table(gzip.decompress(path.read_bytes()), "adult.csv")
    assert result.frame.shape == (32_561, 15)
    assert result.frame["age"].dtype == np.int64
    assert result.frame["income"].dtype == "str"
    assert set(result.frame["income"]) == {"<=50K", ">50K"}
    missing = result.frame.isna().sum()
    assert missing[["workclass", "occupation", "native-country"]].tolist() == [1836, 1843, 583]
    assert missing.drop(["workclass", "occupation", "native-country"]).sum() == 0
    assert result.warnings == []


# --- formats --------------------------------------------------------------------------------------------------------

def test_parquet_round_trip():
    original = pd.DataFrame({
        "i": pd.Series([1, 2, 3], dtype="int64"),
        "f": [0.5, NAN, 2.0],
        "s": text(["a", NAN, "c"]),
        "b": [True, False, True],
        "t": pd.to_datetime(["2020-01-01", "2021-06-30", "2022-12-31"]),
    })
    result = read_table(parquet_bytes(original), "x.parquet")
    assert result.format == "parquet"
    check(result, original)


def test_parquet_index_and_string_normalisation():
    original = pd.DataFrame({"n": ["1", "2", "NA"], "c": pd.Categorical(["x", "y", "x"])},
                            index=pd.Index([10, 20, 30], name="row_id"))
    check(read_table(parquet_bytes(original), "x.pq"),
          frame(row_id=[10, 20, 30], n=[1.0, 2.0, NAN], c=text(["x", "y", "x"])))
    unnamed = pd.DataFrame({"a": [1, 2]}, index=[5, 6])
    check(read_table(parquet_bytes(unnamed), "x.parquet"), frame(a=[1, 2]))


def test_parquet_with_duplicate_and_non_text_names():
    table = pa.table([pa.array([1]), pa.array([2]), pa.array(["x"])], names=["a", "a", ""])
    result = read_table(parquet_bytes(table), "x.parquet")
    check(result, frame(a=[1], **{"a (2)": [2]}, column_3=text(["x"])))


def test_parquet_limits_come_from_the_footer():
    data = parquet_bytes(pd.DataFrame({"a": range(20), "b": range(20)}))
    with pytest.raises(FileTooLargeError, match="has 20 data rows"):
        read_table(data, "x.parquet", settings=settings(max_rows=10))
    with pytest.raises(FileTooLargeError, match="has 2 columns"):
        read_table(data, "x.parquet", settings=settings(max_columns=1))


def test_parquet_magic_wins_over_a_wrong_extension():
    result = read_table(parquet_bytes(pd.DataFrame({"a": [1, 2]})), "actually-parquet.csv")
    assert result.format == "parquet"
    check(result, frame(a=[1, 2]))


def test_damaged_parquet_is_an_input_error():
    with pytest.raises(InputError, match="not a valid Parquet file") as info:
        read_table(b"PAR1" + b"\x00garbage" * 10, "x.parquet")
    assert info.value.__cause__ is not None  # the parser's error stays chained for logs


def test_extension_that_lies_about_the_content():
    with pytest.raises(InputError, match=r"named \.parquet but its content is not Parquet"):
        read_table(b"a,b\n1,2\n", "x.parquet")
    with pytest.raises(InputError, match=r"named \.xlsx but its content is not Excel"):
        read_table(b"a,b\n1,2\n", "x.xlsx")


@pytest.mark.parametrize("data, name, what", [
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", "old-style"),
    (b"a,b\n1,2\n", "old.xls", "old-style"),
    (b'{"a": 1}', "data.json", "'.json' files"),
    (b"a,b\n1,2\n", "noextension", "without an extension"),
    (gzip.compress(gzip.compress(b"a\n1\n", mtime=0), mtime=0), "x.csv.gz.gz", "compressed twice"),
])
def test_unsupported_formats_say_which_formats_work(data, name, what):
    with pytest.raises(UnsupportedFormatError, match=what) as info:
        read_table(data, name)
    assert "CSV (.csv, .txt), TSV (.tsv), Parquet (.parquet, .pq) or Excel (.xlsx)" in str(info.value)


def test_zip_that_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("data.csv", "a,b\n1,2\n")
    with pytest.raises(UnsupportedFormatError, match="zip archive that is not an Excel workbook"):
        read_table(out.getvalue(), "data.zip")


def test_xlsx_round_trip():
    rows = [["age", "name", "score", "when", "ok"],
            [30, "Ann", 1.5, dt.datetime(2020, 1, 2), True],
            [41, "Bob", None, dt.datetime(2021, 3, 4, 5, 6), False]]
    result = read_table(xlsx_bytes(rows, extra_sheets=["Notes"], title="Data"), "x.xlsx")
    assert (result.format, result.sheet) == ("xlsx", "Data")
    check(result, frame(age=[30, 41], name=text(["Ann", "Bob"]), score=[1.5, NAN],
                        when=pd.Series([dt.datetime(2020, 1, 2), dt.datetime(2021, 3, 4, 5, 6)],
                                       dtype="datetime64[us]"), ok=[True, False]))
    assert result.warnings == ["only the first sheet ('Data') was read; the workbook also has 1 more: 'Notes'"]


def test_xlsx_title_and_notes_above_the_header_are_left_out_with_a_warning():
    rows = [["Loan book export"], [], ["Generated", "2024-06-30"], ["a", "b", "c", "label"],
            [1, "x", 4.5, "yes"], [2, "y", None, "no"], [3, "z", 6.5]]
    result = read_table(xlsx_bytes(rows), "book.xlsx")
    check(result, frame(a=[1, 2, 3], b=text(["x", "y", "z"]), c=[4.5, NAN, 6.5], label=text(["yes", "no", NAN])))
    assert result.warnings == ["2 rows above the header were left out (starting 'Loan book export'): the table starts "
                               "at row 4. If that row is not the header, remove the rows above the table and upload "
                               "again."]


def test_xlsx_header_short_of_a_name_is_not_taken_for_a_note():
    result = read_table(xlsx_bytes([["a", "b"], [1, 2, 3], [4, 5, 6], [7, 8, 9]]), "x.xlsx")
    assert list(result.frame.columns) == ["a", "b", "column_3"]
    assert not [w for w in result.warnings if "above the header" in w]


def test_xlsx_magic_wins_over_a_wrong_extension_and_odd_cells():
    rows = [["n", None, "mixed"], [1, "x", 1], [2, None, "n/a"], [3, None, "unknown"], [None, None, None],
            [4, "y", 2.5]]
    result = read_table(xlsx_bytes(rows), "export.csv")
    assert result.format == "xlsx"
    check(result, frame(n=[1, 2, 3, 4], column_2=text(["x", NAN, NAN, "y"]), mixed=text(["1", NAN, "unknown", "2.5"])))


def test_xlsx_names_kept_verbatim():
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["<b>bold</b>", "📈", "x"])
    sheet["C1"].value = '=HYPERLINK("http://x","y")'
    sheet["C1"].data_type = "s"  # a text cell that looks like a formula, as Excel stores it
    sheet.append([1, 2, 3])
    out = io.BytesIO()
    book.save(out)
    result = read_table(out.getvalue(), "x.xlsx")
    assert list(result.frame.columns) == ["<b>bold</b>", "📈", '=HYPERLINK("http://x","y")']


def test_xlsx_formula_bomb_is_never_evaluated():
    # openpyxl saves formulas without cached values, as a crafted file would: they must read as empty.
    rows = [["a", "b", "c"], [1, "=A2*1000000", "=REPT(\"x\",32767)"], [2, "=B2*B2", "=1+1"]]
    result = read_table(xlsx_bytes(rows), "bomb.xlsx")
    check(result, frame(a=[1, 2], b=text([NAN, NAN]), c=text([NAN, NAN])))
    assert any("does not compute them" in w for w in result.warnings)


def _set_dimension(xml: bytes, ref: bytes) -> bytes:
    """Rewrite the sheet's declared size, however openpyxl spelled the element (with lxml: no space before '/>')."""
    patched, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', b'<dimension ref="' + ref + b'"/>', xml)
    assert count == 1, "the sheet declares no dimension to patch"
    return patched


def test_xlsx_huge_declared_dimension_is_refused_quickly():
    data = patch_zip(xlsx_bytes([["a", "b"], [1, 2]]), "xl/worksheets/sheet1.xml",
                     lambda xml: _set_dimension(xml, b"A1:XFD1048576"))
    with pytest.raises(FileTooLargeError, match="16,384 columns"):
        read_table(data, "huge.xlsx")
    tall = patch_zip(xlsx_bytes([["a", "b"], [1, 2]]), "xl/worksheets/sheet1.xml",
                     lambda xml: _set_dimension(xml, b"A1:B1048576"))
    with pytest.raises(FileTooLargeError, match="1,048,575 data rows"):
        read_table(tall, "tall.xlsx", settings=settings(max_rows=1000))


def test_xlsx_rows_past_the_limit_without_a_dimension_stop_the_read():
    def far_row(xml: bytes) -> bytes:
        xml = re.sub(rb'<dimension ref="[^"]*"\s*/>', b"", xml)
        return xml.replace(b"</sheetData>", b'<row r="99999999"><c r="A99999999"><v>5</v></c></row></sheetData>')
    data = patch_zip(xlsx_bytes([["a", "b"], [1, 2]]), "xl/worksheets/sheet1.xml", far_row)
    with pytest.raises(FileTooLargeError, match="RISKBOARD_MAX_ROWS"):
        read_table(data, "far.xlsx", settings=settings(max_rows=100))


def test_xlsx_too_many_rows_and_columns():
    rows = [["a", "b", "c"]] + [[i, i, i] for i in range(12)]
    with pytest.raises(FileTooLargeError, match="RISKBOARD_MAX_ROWS"):
        read_table(xlsx_bytes(rows), "x.xlsx", settings=settings(max_rows=10))
    with pytest.raises(FileTooLargeError, match="RISKBOARD_MAX_COLUMNS"):
        read_table(xlsx_bytes(rows), "x.xlsx", settings=settings(max_columns=2))


def test_xlsx_zip_bomb_is_refused_by_unpacked_size(monkeypatch):
    monkeypatch.setattr(_limits, "UNPACKED_FACTOR", 1)
    padding = patch_zip(xlsx_bytes([["a"], [1]]), "docProps/core.xml", lambda xml: xml + b" " * 3_000_000)
    assert len(padding) < 1_048_576
    with pytest.raises(FileTooLargeError, match="Excel workbook unpacks to more than"):
        read_table(padding, "bomb.xlsx", settings=settings(max_upload_mb=1))


@pytest.mark.parametrize("member", ["xl/worksheets/sheet1.xml", "xl/workbook.xml", "[Content_Types].xml"])
def test_xlsx_external_entity_is_refused(member, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    doctype = f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "{secret.as_uri()}">]>'.encode()

    def inject(xml: bytes) -> bytes:
        xml = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
        return doctype + xml.replace(b"<v>1</v>", b"<v>&e;</v>")

    data = patch_zip(xlsx_bytes([["a"], [1]]), member, inject)
    with pytest.raises(InputError, match="declares entities") as info:
        read_table(data, "xxe.xlsx")
    assert "TOP-SECRET" not in str(info.value)


def test_xlsx_entity_expansion_is_refused_even_past_the_prolog_check(monkeypatch):
    from core.data import _excel

    monkeypatch.setattr(_excel, "_PROLOG_BYTES", 8)  # let defusedxml itself meet the DTD
    laughs = b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
    data = patch_zip(xlsx_bytes([["a"], [1]]), "xl/worksheets/sheet1.xml",
                     lambda xml: laughs + xml.replace(b"<v>1</v>", b"<v>&b;</v>"))
    with pytest.raises(InputError, match="declares entities"):
        read_table(data, "laughs.xlsx")


def test_damaged_xlsx_is_an_input_error():
    data = patch_zip(xlsx_bytes([["a"], [1]]), "xl/workbook.xml", lambda xml: b"<not-closed")
    with pytest.raises(InputError, match=r"cannot be read as Excel \(\.xlsx\)"):
        read_table(data, "x.xlsx")


def test_mangled_files_raise_only_riskboard_errors():
    """A small deterministic fuzz: random text and bit-flipped xlsx/parquet/gzip never escape as parser errors."""
    rng = random.Random(0)
    pieces = [b",", b";", b"\t", b"|", b'"', b"\n", b"\r", b" ", b"a", b"1", b"2.5", b"NA", b"\xc3\xa9", b"\xe9",
              b"\x00", b"=", b"-"]
    seeds = [xlsx_bytes([["a", "b"], [1, "x"], [2, None]]), parquet_bytes(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})),
             gzip.compress(b"a,b\n1,2\n")]
    for i in range(300):
        if i % 3 == 0:
            data, name = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))), "x.csv"
        else:
            mangled = bytearray(rng.choice(seeds))
            for _ in range(rng.randint(1, 4)):
                mangled[rng.randrange(len(mangled))] = rng.randrange(256)
            data, name = bytes(mangled), rng.choice(["x.xlsx", "x.parquet", "x.csv.gz"])
        with contextlib.suppress(RiskboardError):
            read_table(data, name)


def test_bytes_only():
    with pytest.raises(TypeError):
        read_table("a,b\n1,2\n", "x.csv")  # type: ignore[arg-type]
    check(read_table(bytearray(b"a\n1\n"), "x.csv"), frame(a=[1]))


@pytest.mark.parametrize("keep", [8, 0.5, 0.95])
def test_damaged_parquet_is_named_in_our_words(keep):
    data = parquet_bytes(pd.DataFrame({"a": range(100)}))
    cut = data[:keep] if isinstance(keep, int) else data[:int(len(data) * keep)]
    with pytest.raises(InputError, match=r"^This is not a valid Parquet file: it may be truncated") as info:
        read_table(cut, "x.parquet")
    assert "magic" not in str(info.value)
