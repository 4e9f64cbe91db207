"""Spreadsheet reading and writing (xianfeng.core.excel)."""

import datetime as dt
import io
import zipfile
from urllib.parse import unquote

import openpyxl
import pytest
from django.http import StreamingHttpResponse

from xianfeng.core import excel
from xianfeng.core.excel import Sheet, SpreadsheetError, read_table, write_xlsx, xlsx_response


def xlsx(rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def load(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


# ------------------------------------------------------------------------------------------------ reading .xlsx


def test_xlsx_rows_become_header_dicts_with_excel_row_numbers():
    data = xlsx([
        ["河滨社区党员花名册"],  # a title row above the headers
        [],
        ["姓名", "手机号", "入党日期", "身份证号", "备注"],
        ["张三", 13805735678, dt.date(2010, 7, 1), "330424198503041234", None],
        [None, None, None],  # empty rows are dropped, the numbers stay those of the file
        ["李四", "13900000000", 40360, "330424198503041234", "  "],
    ])

    table = read_table(data, filename="花名册.xlsx", is_header=lambda cells: "姓名" in cells and "手机号" in cells)

    assert table.header_row == 3
    assert table.headers == ["姓名", "手机号", "入党日期", "身份证号", "备注"]
    assert table.row_numbers == [4, 6]
    first, second = table.rows
    assert first["手机号"] == 13805735678 and isinstance(first["手机号"], int)  # not 13805735678.0
    assert first["入党日期"] == dt.date(2010, 7, 1)
    assert second["入党日期"] == 40360 and second["身份证号"] == "330424198503041234"


def test_without_a_header_test_the_first_filled_row_is_the_header():
    table = read_table(xlsx([[], ["a", "b"], [1, 2.5]]), filename="x.xlsx")

    assert table.headers == ["a", "b"] and table.rows == [{"a": 1, "b": 2.5}] and table.row_numbers == [3]


def test_cells_without_a_header_are_dropped_and_short_rows_padded():
    table = read_table(xlsx([["a", None, "c"], [1, 2, 3, 4], [5]]), filename="x.xlsx")

    assert table.rows == [{"a": 1, "c": 3}, {"a": 5, "c": ""}]


def test_full_width_and_spaced_headers_are_normalised_for_the_header_test():
    seen = []
    read_table(xlsx([["姓 名", "ＩＤ"], ["x", "y"]]), filename="x.xlsx", is_header=lambda cells: seen.append(cells))

    assert seen[0] == ["姓名", "ID"]


def test_repeated_header_is_an_error():
    with pytest.raises(SpreadsheetError, match="重复"):
        read_table(xlsx([["姓名", "电话", "姓名"], ["a", "b", "c"]]), filename="x.xlsx")


@pytest.mark.parametrize("data", [b"", b"not a workbook", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old xls"])
def test_non_xlsx_bytes_are_refused_with_a_reason(data):
    with pytest.raises(SpreadsheetError, match="xlsx|空"):
        read_table(data, filename="roster.xlsx")


def test_a_zip_that_is_no_workbook_is_refused():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(SpreadsheetError):
        read_table(buf.getvalue(), filename="roster.xlsx")


def test_a_zip_that_inflates_too_far_is_refused_before_parsing(settings):
    settings.UPLOAD_MAX_UNCOMPRESSED_BYTES = 1000
    with pytest.raises(SpreadsheetError, match="解压后"):
        read_table(xlsx([["a"], ["x" * 2000]]), filename="roster.xlsx")


def test_empty_sheet_is_an_error():
    with pytest.raises(SpreadsheetError, match="没有数据"):
        read_table(xlsx([]), filename="roster.xlsx")


def test_unknown_suffix_is_refused():
    with pytest.raises(SpreadsheetError, match="只支持"):
        read_table(b"a,b\n1,2\n", filename="roster.txt")


def test_row_limit():
    with pytest.raises(SpreadsheetError, match="超过"):
        read_table(xlsx([["a"], [1], [2], [3]]), filename="x.xlsx", max_rows=2)


def test_reads_paths_and_file_objects(tmp_path):
    path = tmp_path / "名单.xlsx"
    path.write_bytes(xlsx([["a"], [1]]))

    assert read_table(path).rows == [{"a": 1}]
    assert read_table(str(path)).rows == [{"a": 1}]
    with path.open("rb") as f:
        assert read_table(f, filename="名单.xlsx").rows == [{"a": 1}]


# ------------------------------------------------------------------------------------------------ reading .csv

CSV_TEXT = "姓名,身份证号,入党日期\r\n欧阳娜娜,330424198503041234,2010年7月1日\r\n\r\n𠀀㐀,\"33042419850304123X\",2010/7/1\r\n"


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030", "utf-16"])
def test_csv_in_every_encoding_chinese_excel_writes(encoding):
    table = read_table(CSV_TEXT.encode(encoding), filename="名单.csv")

    assert table.headers == ["姓名", "身份证号", "入党日期"]
    assert [r["姓名"] for r in table.rows] == ["欧阳娜娜", "𠀀㐀"]
    assert table.rows[1]["身份证号"] == "33042419850304123X"
    assert table.row_numbers == [2, 4]


def test_bom_is_not_part_of_the_first_header():
    data = "姓名\r\n张三\r\n".encode("utf-8-sig")
    assert data.startswith(b"\xef\xbb\xbf")

    table = read_table(data, filename="a.csv")

    assert table.headers == ["姓名"]


def test_tab_separated_text_is_read_too():
    table = read_table("姓名\t手机号\n张三\t13800000000\n".encode("utf-16"), filename="a.csv")

    assert table.rows == [{"姓名": "张三", "手机号": "13800000000"}]


def test_quoted_multi_line_cell_keeps_record_numbers():
    table = read_table('姓名,备注\n张三,"第一行\n第二行"\n李四,\n'.encode(), filename="a.csv")

    assert [r["姓名"] for r in table.rows] == ["张三", "李四"]
    assert table.row_numbers == [2, 3]
    assert table.rows[0]["备注"] == "第一行\n第二行"


def test_undecodable_csv_is_refused():
    with pytest.raises(SpreadsheetError, match="编码"):
        read_table(b"\xff\xfe\x00\xd8", filename="a.csv")  # UTF-16 BOM and half a surrogate pair


# ------------------------------------------------------------------------------------------------ writing


def test_written_workbook_reads_back():
    buf = io.BytesIO()
    rows = [["张三", "330424198503041234", dt.date(2010, 7, 1), 3], ["李四", "", None, 4.5]]

    written = write_xlsx(buf, [Sheet("名单", ["姓名", "身份证号", "入党日期", "n"], iter(rows),
                                     text_columns=["身份证号"])])

    assert written == 2
    table = read_table(buf.getvalue(), filename="x.xlsx")
    assert table.rows[0] == {"姓名": "张三", "身份证号": "330424198503041234", "入党日期": dt.date(2010, 7, 1), "n": 3}
    ws = load(buf.getvalue())["名单"]
    assert ws.column_dimensions["B"].number_format == "@"
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.bold


def test_text_that_looks_like_a_formula_stays_text():
    buf = io.BytesIO()
    write_xlsx(buf, [Sheet("s", ["姓名"], [["=HYPERLINK(\"http://evil\",\"x\")"], ["=1+1"]])])

    ws = load(buf.getvalue())["s"]
    assert ws["A2"].data_type == "s" and ws["A2"].value.startswith("=HYPERLINK")
    assert ws["A3"].data_type == "s"


def test_control_characters_are_dropped_and_zones_removed():
    buf = io.BytesIO()
    aware = dt.datetime(2024, 1, 2, 3, 4, tzinfo=dt.UTC)
    write_xlsx(buf, [Sheet("s", ["a", "b"], [["x\x00y\x07z", aware]])])

    ws = load(buf.getvalue())["s"]
    assert ws["A2"].value == "xyz"
    assert ws["B2"].value == dt.datetime(2024, 1, 2, 3, 4)


def test_highlighted_rows_are_shaded():
    buf = io.BytesIO()
    write_xlsx(buf, [Sheet("s", ["a", "错误原因"], [["ok", ""], ["bad", "原因"]], highlight=lambda r: bool(r[-1]))])

    ws = load(buf.getvalue())["s"]
    assert ws["A2"].fill.fgColor.rgb != ws["A3"].fill.fgColor.rgb
    assert ws["A3"].fill.fill_type == "solid"


def test_long_sheet_titles_are_cut_to_excels_limit():
    buf = io.BytesIO()
    write_xlsx(buf, [Sheet("很长" * 20, ["a"], [])])

    assert len(load(buf.getvalue()).sheetnames[0]) == 31


# ------------------------------------------------------------------------------------------------ downloads


def test_content_disposition_has_ascii_fallback_and_utf8_name():
    header = excel.content_disposition("党员名单-20240701.xlsx")

    assert header.startswith('attachment; filename="-20240701.xlsx"; filename*=UTF-8\'\'')
    assert unquote(header.split("''", 1)[1]) == "党员名单-20240701.xlsx"


def test_content_disposition_of_an_all_chinese_name():
    header = excel.content_disposition("党员名单.xlsx")

    assert 'filename="download.xlsx"' in header
    assert header.endswith("filename*=UTF-8''%E5%85%9A%E5%91%98%E5%90%8D%E5%8D%95.xlsx")


def test_quotes_and_semicolons_cannot_break_the_header():
    header = excel.content_disposition('a";b\r\n.xlsx')

    assert header.count('"') == 2 and "\n" not in header and "\r" not in header


@pytest.mark.django_db  # closing a response sends request_finished, which closes database connections
def test_xlsx_response_streams_a_complete_workbook():
    response = xlsx_response("名单.xlsx", [Sheet("s", ["a"], ([i] for i in range(1000)))])

    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == excel.XLSX_CONTENT_TYPE
    assert response["Cache-Control"] == "no-store"
    body = b"".join(response.streaming_content)
    assert int(response["Content-Length"]) == len(body)
    assert response.rows_written == 1000
    assert read_table(body, filename="x.xlsx").rows[-1] == {"a": 999}
    response.close()
