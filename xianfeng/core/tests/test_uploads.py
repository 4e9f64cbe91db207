"""The upload gate (xianfeng.core.uploads) and the bounded spreadsheet reader behind it, against hostile files."""

import io
import resource
import zipfile

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from xianfeng.core import uploads
from xianfeng.core.excel import SpreadsheetError, read_table
from xianfeng.core.tests import hostile
from xianfeng.core.uploads import UploadRefused, check_upload


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_the_dimension_trick_is_refused_by_its_cells_and_costs_no_memory():
    before = _rss_mb()
    with pytest.raises(SpreadsheetError, match="1,048,576 行"):
        read_table(hostile.dimension_trick(), filename="roster.xlsx")
    assert _rss_mb() - before < 100


def test_two_far_apart_cells_are_refused_before_calamine_builds_its_grid():
    with pytest.raises(SpreadsheetError, match="超过上限"):
        read_table(hostile.corner_cells(), filename="roster.xlsx")


def test_a_declared_dimension_larger_than_the_data_is_ignored():
    data = hostile.xlsx_with_sheet(hostile.HEADER_ROW + '<row r="2"><c r="A2" t="inlineStr"><is><t>张三</t></is></c>'
                                   '<c r="B2" t="inlineStr"><is><t>1</t></is></c></row>', dimension="A1:XFD1048576")
    table = read_table(data, filename="roster.xlsx")
    assert table.headers == ["姓名", "身份证号"] and table.rows == [{"姓名": "张三", "身份证号": "1"}]


def test_a_million_empty_rows_are_refused_with_the_row_they_reach():
    with pytest.raises(SpreadsheetError, match="超过上限 250,000 行"):
        read_table(hostile.million_empty_rows(), filename="roster.xlsx")


def test_empty_rows_within_the_limit_are_read_as_a_stream(settings):
    before = _rss_mb()
    table = read_table(hostile.million_empty_rows(200_000), filename="roster.xlsx")
    assert table.headers == ["姓名", "身份证号"] and len(table) == 0
    assert _rss_mb() - before < 150  # the dense list of 200,000 rows took ~300 MB


def test_a_csv_of_blank_lines_is_refused():
    with pytest.raises(SpreadsheetError, match="250,000 行"):
        read_table(b"a,b\n" + b"\n" * 300_000, filename="roster.csv")


def test_a_csv_with_too_many_columns_is_refused():
    with pytest.raises(SpreadsheetError, match="列"):
        read_table(b"a" + b"," * 5000 + b"\n", filename="roster.csv")


@pytest.mark.parametrize(("builder", "filename", "reason"), [
    (hostile.csv_named_xlsx, "roster.xlsx", "文本（CSV），不是 .xlsx"),
    (hostile.old_xls, "roster.xls", "旧版 .xls"),
    (hostile.old_xls, "roster.xlsx", "旧版 .xls"),
    (hostile.zip_bomb, "roster.xlsx", "解压后超过"),
    (hostile.lying_zip_bomb, "roster.xlsx", "解压后超过|损坏"),
    (hostile.decompression_bomb_png, "roster.xlsx", "不是有效的 .xlsx"),
    (lambda: hostile.zip_bomb(), "roster.csv", "不是 CSV"),
    (lambda: hostile.oversize(21 * 1024 * 1024), "roster.csv", "超过 20 MB"),
])
def test_hostile_spreadsheets_get_a_clear_reason(builder, filename, reason):
    with pytest.raises(SpreadsheetError, match=reason):
        read_table(builder(), filename=filename)


def test_a_word_document_named_xlsx_is_named_for_what_it_is():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(SpreadsheetError, match="Word"):
        read_table(buf.getvalue(), filename="roster.xlsx")


def test_too_many_zip_members_are_refused(settings):
    settings.UPLOAD_MAX_ZIP_MEMBERS = 10
    data = hostile.xlsx_with_sheet(hostile.HEADER_ROW, extra={f"xl/media/{i}.bin": b"x" for i in range(20)})
    with pytest.raises(SpreadsheetError, match="部件"):
        read_table(data, filename="roster.xlsx")


def test_formula_cells_are_read_as_their_cached_values_never_evaluated():
    table = read_table(hostile.formulas(), filename="roster.xlsx")
    # no cached value: empty; a text cell keeps its text (exports write it back as text, never as a formula)
    assert [r["姓名"] for r in table.rows] == ["", "=cmd|' /C calc'!A0"]


def test_a_decompression_bomb_png_is_refused_from_its_header():
    with pytest.raises(UploadRefused, match="超过上限 64,000,000 像素"):
        check_upload(hostile.decompression_bomb_png(), filename="photo.png", kinds=("image",))


def test_a_normal_png_passes_and_a_text_file_named_png_does_not():
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buf, "PNG")
    assert check_upload(buf.getvalue(), filename="a.png", kinds=("image",)) == "image"
    assert uploads.check_image_bytes(buf.getvalue()) == ("PNG", 40, 30)
    with pytest.raises(UploadRefused, match="不是有效的图片"):
        check_upload(b"hello", filename="a.png", kinds=("image",))


def test_file_objects_are_read_only_up_to_the_limit_and_rewound():
    source = io.BytesIO(b"a,b\n1,2\n")
    assert check_upload(source, filename="a.csv", kinds=("csv",), max_bytes=100) == "csv"
    assert source.tell() == 0
    with pytest.raises(UploadRefused, match="超过"):
        check_upload(io.BytesIO(b"x" * 101), filename="a.csv", kinds=("csv",), max_bytes=100)


@pytest.mark.parametrize(("data", "filename", "kinds", "reason"), [
    (b"%PDF-1.7\n", "plan.docx", ("docx", "pdf"), "不是有效的 .docx"),
    (b"PK\x03\x04junk", "plan.pdf", ("docx", "pdf"), "不是 PDF"),
    (b"plain", "plan.doc", ("doc",), "不是 Word"),
    (b"[1, 2]", "grids.geojson", ("geojson",), "GeoJSON"),
    (b"a,b", "a.exe", ("csv",), "只支持 .csv"),
])
def test_content_must_match_the_extension(data, filename, kinds, reason):
    with pytest.raises(UploadRefused, match=reason):
        check_upload(data, filename=filename, kinds=kinds)


# ------------------------------------------------------------------------------------------ generated hostile sheets

cells = st.lists(st.tuples(st.integers(1, 3000), st.integers(1, 60), st.booleans()), min_size=1, max_size=30)


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cells=cells, declared=st.sampled_from(["", "A1:XFD1048576", "A1:B2"]), implicit=st.booleans())
def test_generated_sheets_are_refused_exactly_when_their_cells_exceed_the_limits(settings, cells, declared,
                                                                               implicit):
    settings.UPLOAD_MAX_ROWS, settings.UPLOAD_MAX_COLUMNS, settings.UPLOAD_MAX_CELLS = 2000, 40, 30_000
    by_row: dict[int, dict[int, bool]] = {}
    for row, col, styled_only in cells:
        by_row.setdefault(row, {})[col] = styled_only
    xml = []
    for row in sorted(by_row):
        parts = []
        for col in sorted(by_row[row]):
            # `implicit`: cells of column A leave their place to the reader (no r), the tag-by-tag path then
            ref = "" if implicit and col == 1 else f' r="{_column_letters(col)}{row}"'
            parts.append(f"<c{ref} s=\"1\"/>" if by_row[row][col] else f"<c{ref}><v>{col}</v></c>")
        xml.append(f'<row r="{row}">{"".join(parts)}</row>')
    filled = [(row, col) for row, cols in by_row.items() for col, styled in cols.items() if not styled]
    data = hostile.xlsx_with_sheet("".join(xml), dimension=declared)
    # a cell with only a style counts towards the extent too (conservative: the reader keeps none of them)
    max_row = max(by_row)
    max_col = max(col for cols in by_row.values() for col in cols)
    too_big = max_row > 2000 or max_col > 40 or max_row * max_col > 30_000
    if too_big:
        with pytest.raises(SpreadsheetError, match="超过上限"):
            read_table(data, filename="g.xlsx")
        return
    try:
        table = read_table(data, filename="g.xlsx")
    except SpreadsheetError as exc:
        assert "没有数据" in str(exc) and not filled
        return
    assert table.header_row == min(r for r, _ in filled)
    assert len(table) + 1 == len({r for r, _ in filled})


@hsettings(max_examples=80, deadline=None)
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".xlsx", ".csv"]))
def test_random_bytes_get_a_reason_never_a_crash(data, suffix):
    try:
        read_table(data, filename=f"f{suffix}")
    except SpreadsheetError as exc:
        assert str(exc)


@hsettings(max_examples=40, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=400), offset=st.integers(0, 1500))
def test_a_damaged_workbook_gets_a_reason_never_a_crash(garbage, offset):
    good = hostile.xlsx_with_sheet(hostile.HEADER_ROW)
    data = good[:offset] + garbage + good[offset + len(garbage):]
    try:
        read_table(data, filename="f.xlsx")
    except SpreadsheetError as exc:
        assert str(exc)
