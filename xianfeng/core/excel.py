"""Spreadsheet input and output shared by every module's imports and exports.

Reading: .xlsx (python-calamine, ~10× faster than openpyxl) and .csv (UTF-8 with or without BOM, GB18030 as the
fallback Chinese Excel writes) become a `Table`: the header row and one header→value dict per data row, each with
the row number the user sees in Excel.

Writing: openpyxl in write-only mode into a temporary file, answered as a streamed download whose Chinese file name
survives every browser (RFC 6266 / RFC 5987 `filename*`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from django.http import FileResponse

from xianfeng.core.uploads import UploadRefused, check_upload, limit

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
READABLE_SUFFIXES = (".xlsx", ".csv")
HEADER_SEARCH_ROWS = 20
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_SPACES = re.compile(r"\s+")


class SpreadsheetError(UploadRefused):
    """The upload cannot be read as a table: wrong type, damaged, unknown encoding or no data. The text is for users."""


@dataclass
class Table:
    """A sheet read into memory: `rows[i]` maps each header to its cell and sits on Excel row `row_numbers[i]`."""

    headers: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    row_numbers: list[int] = field(default_factory=list)
    header_row: int = 1

    def __len__(self) -> int:
        return len(self.rows)


def normalise_header(value: Any) -> str:
    """Headers compare after NFKC (full-width → half-width) with every space removed."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value or "")))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def read_table(source: bytes | IO[bytes] | str | Path, *, filename: str | None = None,
               is_header: Callable[[list[str]], bool] | None = None, max_rows: int | None = None) -> Table:
    """Read the first sheet of an .xlsx or a .csv into a Table. Raises SpreadsheetError with a Chinese reason.

    The header row is the first of the top 20 rows for which `is_header(normalised cell texts)` is true (so a title
    row above the headers is skipped), or else the first non-empty row. Empty rows are dropped; the row numbers of the
    rest stay those of the file. `filename` decides the format when `source` is bytes or a file object.
    """
    name = str(filename or (source if isinstance(source, (str, Path)) else ""))
    suffix = Path(name).suffix.lower()
    try:
        # Size, content against extension, zip bombs, and each sheet's rows × columns present: before any parsing.
        check_upload(source, filename=name, kinds=("xlsx", "csv"))
    except SpreadsheetError:
        raise
    except UploadRefused as exc:
        raise SpreadsheetError(str(exc)) from None
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
        if hasattr(source, "seek"):
            source.seek(0)
    rows = _read_xlsx(data) if suffix == ".xlsx" else _read_csv(data)
    return _to_table(rows, is_header=is_header, max_rows=max_rows)


Rows = Iterable[tuple[int, list[Any]]]


def _read_xlsx(data: bytes) -> Rows:
    """(Excel row number, cells from column A) for each row of the first sheet, as a stream: check_upload has
    bounded the sheet's rows × columns present, and empty rows are never turned into Python lists."""
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not workbook.sheet_names:
            raise SpreadsheetError("工作簿中没有工作表")
        sheet = workbook.get_sheet_by_index(0)
    except SpreadsheetError:
        raise
    except Exception as exc:  # calamine raises its own error types for damaged or encrypted files
        raise SpreadsheetError("文件已损坏或加密，无法读取") from exc
    if sheet.height == 0 or sheet.width == 0:
        return []
    # iter_rows starts at row 1 but at the range's first column (the first one with content).
    pad = [""] * (sheet.start or (0, 0))[1]

    def rows() -> Rows:
        try:
            for index, row in enumerate(sheet.iter_rows()):
                if all(_blank(v) for v in row):
                    continue
                yield index + 1, [*pad, *row] if pad else row
        except SpreadsheetError:
            raise
        except Exception as exc:
            raise SpreadsheetError("文件已损坏，无法读取") from exc
    return rows()


def decode_text(data: bytes) -> str:
    """Text of a CSV: UTF-8 (BOM optional), UTF-16 with BOM, else GB18030 (what Chinese Excel saves)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise SpreadsheetError("无法识别文件编码，请另存为 UTF-8 编码的 CSV") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError:
        raise SpreadsheetError("无法识别文件编码，请另存为 UTF-8 编码的 CSV") from None


def _read_csv(data: bytes) -> Rows:
    """(line's row number, cells) for each non-empty CSV row, as a stream, refusing rows or columns past the limits
    (blank lines count towards the row limit too: they are what a million-empty-rows file is made of)."""
    text = decode_text(data)
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    max_rows, max_columns = limit("UPLOAD_MAX_ROWS"), limit("UPLOAD_MAX_COLUMNS")
    max_cells = limit("UPLOAD_MAX_CELLS")

    def rows() -> Rows:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        cells = 0
        try:
            for number, row in enumerate(reader, start=1):  # records, so a quoted line break keeps numbering
                if number > max_rows:
                    raise SpreadsheetError(f"文件超过 {max_rows:,} 行（含空行），请删除多余的行或拆分后分批上传")
                if len(row) > max_columns:
                    raise SpreadsheetError(f"第{number}行有 {len(row):,} 列，超过上限 {max_columns:,} 列")
                cells += len(row)
                if cells > max_cells:
                    raise SpreadsheetError(f"文件超过 {max_cells:,} 个单元格，请拆分后分批上传")
                if row and not all(_blank(v) for v in row):
                    yield number, row
        except csv.Error as exc:
            raise SpreadsheetError(f"CSV 格式错误：{exc}") from exc
    return rows()


def _to_table(grid: Rows, *, is_header: Callable[[list[str]], bool] | None, max_rows: int | None) -> Table:
    """The table from a stream of non-empty (row number, cells): the header among the first 20 rows, then data."""
    stream = iter(grid)
    head: list[tuple[int, list[Any]]] = []
    header: tuple[int, list[Any]] | None = None
    for number, row in stream:
        head.append((number, row))
        if is_header is None or is_header([normalise_header(v) for v in row]):
            header = (number, row)
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        if not head:
            raise SpreadsheetError("文件中没有数据")
        header = head[0]
    header_number = header[0]
    headers = [str(v).strip() if not _blank(v) else "" for v in header[1]]
    while headers and not headers[-1]:
        headers.pop()
    seen: dict[str, int] = {}
    for index, name in enumerate(headers):
        if name and name in seen:
            raise SpreadsheetError(f"列名“{name}”重复（第{_column_letter(seen[name])}列和第{_column_letter(index)}列），"
                                   "请只保留一列")
        seen[name] = index
    table = Table(headers=headers, header_row=header_number)
    width = len(headers)
    keep = [i for i, h in enumerate(headers) if h]  # columns without a header are dropped
    keys = [headers[i] for i in keep]
    rows, numbers = table.rows, table.row_numbers
    later = ((n, r) for n, r in head if n > header_number)
    for number, row in itertools.chain(later, stream):
        if max_rows is not None and len(rows) >= max_rows:
            raise SpreadsheetError(f"数据超过 {max_rows:,} 行，请拆分后分批导入")
        if len(row) < width:
            row = [*row, *([""] * (width - len(row)))]
        values = [row[i] for i in keep] if len(keep) != len(row) else row
        # Whole numbers Excel stores as floats (phones, codes, serial dates) become int.
        rows.append(dict(zip(keys, [int(v) if type(v) is float and v.is_integer() else v for v in values],
                             strict=True)))
        numbers.append(number)
    return table


# ---------------------------------------------------------------------------------------------------------- writing


@dataclass
class Sheet:
    """One worksheet to write: a bold, frozen header row, then `rows` (any iterable, consumed once).

    `widths` are column widths in characters; `text_columns` are header names whose column is formatted as text, so
    numbers a user later types there (ID numbers, phones) are not turned into floats by Excel. `highlight` is called
    with each row and returns True for rows to shade red (e.g. rows with errors).
    """

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    widths: Mapping[str, float] = field(default_factory=dict)
    text_columns: Sequence[str] = ()
    highlight: Any = None


def _column_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index + 1)


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL_CHARS.sub("", value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones; callers pass local time
    return value


def write_xlsx(target: IO[bytes] | str | Path, sheets: Sequence[Sheet]) -> int:
    """Write `sheets` as an .xlsx to `target` with openpyxl's write-only mode. Returns the data rows written.

    Text starting with "=" is written as text, never as a formula: cell contents come from users.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, PatternFill

    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    red = PatternFill("solid", fgColor="FFF2CC")
    written = 0
    for sheet in sheets:
        ws = workbook.create_sheet(sheet.title[:31])
        for index, header in enumerate(sheet.headers):
            letter = _column_letter(index)
            ws.column_dimensions[letter].width = sheet.widths.get(header, max(10, min(40, len(header) * 2 + 4)))
            if header in sheet.text_columns:
                ws.column_dimensions[letter].number_format = "@"
        ws.freeze_panes = "A2"
        header_cells = []
        for header in sheet.headers:
            cell = WriteOnlyCell(ws, _safe(header))
            cell.font = bold
            header_cells.append(cell)
        ws.append(header_cells)
        for row in sheet.rows:
            shade = bool(sheet.highlight and sheet.highlight(row))
            values: list[Any] = []
            for value in row:
                value = _safe(value)
                if shade or (isinstance(value, str) and value.startswith("=")):
                    cell = WriteOnlyCell(ws, value)
                    if isinstance(value, str):
                        cell.data_type = "s"
                    if shade:
                        cell.fill = red
                    values.append(cell)
                else:
                    values.append(value)
            ws.append(values)
            written += 1
    workbook.save(target)
    return written


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the real (Chinese) name in RFC 5987 `filename*`."""
    suffix = Path(filename).suffix
    ascii_name = "".join(ch for ch in filename if ch.isascii() and (ch.isalnum() or ch in "-_."))
    if not ascii_name or ascii_name == suffix or ascii_name.startswith("."):
        ascii_name = f"download{suffix}"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> FileResponse:
    """A streamed .xlsx download. The workbook is written to a temporary file first (an .xlsx is a zip, so it cannot
    be streamed before it is complete); the file is deleted when the response is closed."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 — FileResponse closes it
    rows = write_xlsx(spool, sheets)
    spool.seek(0)
    response = FileResponse(spool, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition(filename)
    response["Cache-Control"] = "no-store"
    response.rows_written = rows  # type: ignore[attr-defined]
    return response
