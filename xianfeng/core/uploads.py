"""The one gate every uploaded file passes before anything parses it: size, type, and what it would cost to read.

`check_upload(data, filename=…, kinds=(…))` answers the file's kind or raises `UploadRefused` with a reason for the
user (Chinese). It checks, in this order and without building anything the size of the declared content:

- the size in bytes (per kind, `UPLOAD_MAX_BYTES` for the rest);
- that the content is what the extension says: an .xlsx/.docx is a zip with the parts of its format, an old .xls
  (an OLE container, also what an encrypted workbook is) is refused with "save as .xlsx", a CSV named .xlsx or a
  workbook named .csv is named for what it is, an image is one Pillow can identify, a PDF starts with %PDF;
- for zips (.xlsx, .docx): at most `UPLOAD_MAX_ZIP_MEMBERS` members whose real inflated size (counted while
  inflating, not read from the headers, which can lie) stays under `UPLOAD_MAX_UNCOMPRESSED_BYTES` (zip bombs);
- for .xlsx: every worksheet's cells actually present (rows × columns from A1 to the last row and column with a
  cell, found by scanning the sheet's XML as a stream) within `UPLOAD_MAX_ROWS`, `UPLOAD_MAX_COLUMNS`
  and `UPLOAD_MAX_CELLS`. The sheet's declared `<dimension>` is never used: a 5 KB file can declare
  A1:XFD1048576, and python-calamine holds a sheet as one dense grid from its first to its last cell (32 bytes a
  cell), so two cells at A1 and XFD1048576 would ask for 512 GiB;
- for images: width × height within `UPLOAD_MAX_IMAGE_PIXELS`, read from the header before any pixel is decoded
  (decompression bombs: a 50 KB PNG can inflate to gigabytes).

Before any of this, `core.middleware.UploadSizeMiddleware` refuses a request body declared larger than
`UPLOAD_MAX_REQUEST_BYTES` (413), so no upload is even spooled to disk past it.

Every limit is a setting (defaults below); the readers (`core.excel`, XLSForm, GeoJSON, photos, plan files) call
this first and then read rows as a stream.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings

DEFAULTS = {
    "UPLOAD_MAX_BYTES": 20 * 1024 * 1024,
    "UPLOAD_MAX_REQUEST_BYTES": 21 * 1024 * 1024,  # a whole request body (core.middleware.UploadSizeMiddleware)
    "UPLOAD_MAX_UNCOMPRESSED_BYTES": 200 * 1024 * 1024,  # a 200,000-row roster is ~120 MB of XML
    "UPLOAD_MAX_ZIP_MEMBERS": 1000,
    "UPLOAD_MAX_ROWS": 250_000,
    "UPLOAD_MAX_COLUMNS": 1000,
    "UPLOAD_MAX_CELLS": 4_000_000,  # ~130 MB in python-calamine's grid
    "UPLOAD_MAX_IMAGE_PIXELS": 64_000_000,  # a 64-megapixel photo; Pillow's own default is 89 M
}
# Extensions of each kind. Plan files may also be WPS documents (.wps/.et are OLE containers, like .doc).
SUFFIXES = {
    "xlsx": (".xlsx",),
    "csv": (".csv",),
    "docx": (".docx",),
    "doc": (".doc", ".wps"),
    "pdf": (".pdf",),
    "image": (".jpg", ".jpeg", ".png", ".gif", ".webp"),
    "geojson": (".geojson", ".json"),
}
IMAGE_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
_CHUNK = 1024 * 1024


class UploadRefused(ValueError):
    """The upload is refused before it is read; the text is for users (Chinese)."""


@dataclass(frozen=True)
class SheetSize:
    """A worksheet's extent: from A1 to the last row and the last column with a cell, valued or styled (0 × 0 if none).

    Counted from A1, not from the first cell: python-calamine's rows start at row 1 (padding above the first cell),
    so a lone cell at row 1,000,000 costs a million rows to read."""

    name: str
    rows: int
    columns: int

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def limit(name: str) -> int:
    """The setting `name` (e.g. UPLOAD_MAX_CELLS), or its default."""
    return int(getattr(settings, name, DEFAULTS[name]))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):g} MB"


def _read(source: bytes | IO[bytes] | str | Path, max_bytes: int) -> bytes:
    """The bytes of `source`, refusing (without reading more than max_bytes + 1) anything larger."""
    if isinstance(source, bytes):
        data = source
    elif isinstance(source, (str, Path)):
        path = Path(source)
        if path.stat().st_size > max_bytes:
            raise UploadRefused(f"文件超过 {_mb(max_bytes)}，请拆分或压缩后再上传")
        data = path.read_bytes()
    else:
        size = getattr(source, "size", None)
        if size is not None and size > max_bytes:
            raise UploadRefused(f"文件超过 {_mb(max_bytes)}，请拆分或压缩后再上传")
        if hasattr(source, "seek"):
            source.seek(0)
        data = source.read(max_bytes + 1)
        if hasattr(source, "seek"):
            source.seek(0)
    if len(data) > max_bytes:
        raise UploadRefused(f"文件超过 {_mb(max_bytes)}，请拆分或压缩后再上传")
    return data


def kind_of_suffix(filename: str) -> str | None:
    suffix = Path(filename).suffix.lower()
    return next((kind for kind, suffixes in SUFFIXES.items() if suffix in suffixes), None)


def check_upload(source: bytes | IO[bytes] | str | Path, *, filename: str, kinds: Iterable[str],
                 max_bytes: int | None = None) -> str:
    """Refuse `source` unless it is one of `kinds` (keys of SUFFIXES) by extension and by content, within every limit.
    Returns the kind. Raises UploadRefused with the reason. Reads at most max_bytes + 1 bytes of a file object and
    puts it back at its start."""
    kinds = tuple(kinds)
    max_bytes = max_bytes or limit("UPLOAD_MAX_BYTES")
    kind = kind_of_suffix(filename)
    if kind not in kinds:
        if Path(filename).suffix.lower() in (".xls", ".et") and "xlsx" in kinds:
            raise UploadRefused("不支持旧版 .xls 文件，请在 Excel 或 WPS 中另存为 .xlsx 后上传")
        allowed = "、".join(s for k in kinds for s in SUFFIXES[k])
        raise UploadRefused(f"只支持 {allowed} 文件")
    data = _read(source, max_bytes)
    if not data:
        raise UploadRefused("文件是空的")
    CHECKS[kind](data)
    return kind


def _not_a_workbook_reason(data: bytes) -> str:
    if data.startswith(OLE_MAGIC):
        return "文件是旧版 .xls 工作簿或加密的工作簿，请取消密码并在 Excel 或 WPS 中另存为 .xlsx 后上传"
    if data.startswith(ZIP_MAGIC):
        return "文件不是有效的 .xlsx 工作簿（压缩包中没有工作表）"
    if _looks_like_text(data):
        return "文件内容是文本（CSV），不是 .xlsx 工作簿：请把扩展名改为 .csv，或在 Excel 中另存为 .xlsx"
    return "文件不是有效的 .xlsx 工作簿（若是 .xls 旧格式，请在 Excel 中另存为 .xlsx）"


def _looks_like_text(data: bytes) -> bool:
    head = data[:4096]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    return b"\x00" not in head


def _check_xlsx(data: bytes) -> None:
    if not data.startswith(ZIP_MAGIC):
        raise UploadRefused(_not_a_workbook_reason(data))
    sizes = _scan_zip(data, want_sheets=True, required="xl/workbook.xml",
                      wrong_type="文件不是有效的 .xlsx 工作簿" + ("（它是 Word 文档）" if b"word/" in data[:65536]
                                                                    else ""))
    for sheet in sizes:
        _check_sheet_size(sheet)


def _check_sheet_size(sheet: SheetSize) -> None:
    max_rows, max_columns, max_cells = limit("UPLOAD_MAX_ROWS"), limit("UPLOAD_MAX_COLUMNS"), limit("UPLOAD_MAX_CELLS")
    where = f"工作表“{sheet.name}”"
    if sheet.rows > max_rows:
        raise UploadRefused(f"{where}的内容超过上限 {max_rows:,} 行（至少到第 {sheet.rows:,} 行）；"
                            "请删除多余的行（含看似空白的单元格）或拆分后分批上传")
    if sheet.columns > max_columns:
        raise UploadRefused(f"{where}的内容超过上限 {max_columns:,} 列（至少到第 {sheet.columns:,} 列）；请删除多余的列")
    if sheet.cells > max_cells:
        raise UploadRefused(f"{where}至少有 {sheet.rows:,} 行 × {sheet.columns:,} 列，超过上限 {max_cells:,} 个单元格；"
                            "请删除多余的行列或拆分后分批上传")


def _check_docx(data: bytes) -> None:
    if data.startswith(OLE_MAGIC):
        raise UploadRefused("文件是旧版 .doc 文档，请另存为 .docx 后上传")
    if not data.startswith(ZIP_MAGIC):
        raise UploadRefused("文件不是有效的 .docx 文档")
    _scan_zip(data, want_sheets=False, required="word/document.xml", wrong_type="文件不是有效的 .docx 文档")


def _check_doc(data: bytes) -> None:
    if not data.startswith(OLE_MAGIC):
        raise UploadRefused("文件内容与扩展名不符：不是 Word / WPS 文档")


def _check_pdf(data: bytes) -> None:
    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise UploadRefused("文件内容与扩展名不符：不是 PDF 文件")


def _check_csv(data: bytes) -> None:
    if data.startswith(ZIP_MAGIC):
        raise UploadRefused("文件内容是 Excel 工作簿（.xlsx），不是 CSV：请把扩展名改为 .xlsx")
    if data.startswith(OLE_MAGIC):
        raise UploadRefused("文件是旧版 .xls 工作簿，不是 CSV：请在 Excel 或 WPS 中另存为 .xlsx 或 CSV")
    if not _looks_like_text(data):
        raise UploadRefused("文件不是文本格式的 CSV")


def _check_geojson(data: bytes) -> None:
    if not _looks_like_text(data) or not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        raise UploadRefused("文件不是 GeoJSON（应为以 { 开头的 JSON 文本）")


def _check_image(data: bytes) -> None:
    check_image_bytes(data)


def check_image_bytes(data: bytes) -> tuple[str, int, int]:
    """(format, width, height) of an image, refused unless JPEG/PNG/GIF/WebP within UPLOAD_MAX_IMAGE_PIXELS. Only the
    header is read before the size is checked; then Pillow verifies the file."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    max_pixels = limit("UPLOAD_MAX_IMAGE_PIXELS")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=IMAGE_FORMATS) as image:
                fmt, (width, height) = image.format, image.size
                if width * height > max_pixels:
                    raise UploadRefused(f"图片为 {width:,} × {height:,} 像素，超过上限 {max_pixels:,} 像素")
                image.verify()
    except UploadRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(f"图片像素过多，超过上限 {max_pixels:,} 像素") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
        raise UploadRefused("文件不是有效的图片（支持 JPEG、PNG、GIF、WebP）") from None
    return str(fmt), width, height


CHECKS = {"xlsx": _check_xlsx, "csv": _check_csv, "docx": _check_docx, "doc": _check_doc, "pdf": _check_pdf,
          "image": _check_image, "geojson": _check_geojson}


# ---------------------------------------------------------------------------------------------- zips and worksheets

_WORKSHEET = re.compile(r"^xl/worksheets/[^/]+\.xml$")
# Start tags of rows and cells, with or without a namespace prefix. A cell with only a style (`<c r="A9" s="1"/>`)
# counts like one with a value: the reader keeps none, but telling them apart costs more than it saves.
_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(row|c)(?=[\s/>])([^>]*?)(/?)>")
_REF = re.compile(rb"""\br\s*=\s*["']([A-Za-z]*)(\d*)["']""")
_MAX_TAG_BYTES = 64 * 1024
_CELL_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')
_CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"')
_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})[0-9]')
_LAST_ROW = re.compile(rb"""<row\s[^>]*?\br\s*=\s*["']([0-9]{1,7})["']""")


def _scan_zip(data: bytes, *, want_sheets: bool, required: str, wrong_type: str) -> list[SheetSize]:
    """Inflate every member once, counting real bytes against the limit; measure worksheets on the way."""
    max_total, max_members = limit("UPLOAD_MAX_UNCOMPRESSED_BYTES"), limit("UPLOAD_MAX_ZIP_MEMBERS")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise UploadRefused(f"{wrong_type}（压缩结构已损坏）") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise UploadRefused(f"文件包含 {len(infos):,} 个部件，超过上限 {max_members:,} 个")
        names = {info.filename for info in infos}
        if required not in names:
            raise UploadRefused(wrong_type)
        if sum(info.file_size for info in infos) > max_total:
            raise UploadRefused(f"文件解压后超过 {_mb(max_total)}，请拆分后分批上传")
        names_by_part = _sheet_names(archive) if want_sheets else {}
        total = 0
        sizes = []
        for info in infos:
            measure = want_sheets and _WORKSHEET.match(info.filename)
            scanner = _SheetScanner() if measure else None
            try:
                with archive.open(info) as member:
                    while chunk := member.read(_CHUNK):
                        total += len(chunk)
                        if total > max_total:
                            raise UploadRefused(f"文件解压后超过 {_mb(max_total)}，请拆分后分批上传")
                        if scanner:
                            scanner.feed(chunk)
                            rows, columns = scanner.size()  # refuse as soon as the sheet is too large, not at its end
                            _check_sheet_size(SheetSize(names_by_part.get(info.filename, Path(info.filename).stem),
                                                        rows, columns))
            except UploadRefused:
                raise
            except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, NotImplementedError, RuntimeError, OSError,
                    EOFError, ValueError):
                # damaged, encrypted, or a compression method zipfile does not know
                raise UploadRefused(f"{wrong_type}（文件已损坏或加密）") from None
            if scanner:
                rows, columns = scanner.size()
                sizes.append(SheetSize(names_by_part.get(info.filename, Path(info.filename).stem), rows, columns))
                _check_sheet_size(sizes[-1])  # refuse at the first sheet too large, before inflating the rest
        return sizes


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part → the name the user sees, for messages; {} if the small workbook parts cannot be read."""
    try:
        workbook = archive.read("xl/workbook.xml")[:1024 * 1024]
        rels = archive.read("xl/_rels/workbook.xml.rels")[:1024 * 1024]
    except (KeyError, zipfile.BadZipFile, zlib.error, OSError, RuntimeError, NotImplementedError, ValueError, EOFError):
        return {}
    targets = {m.group(1): m.group(2) for m in re.finditer(
        rb"""<(?:\w+:)?Relationship\b[^>]*?\bId=["']([^"']+)["'][^>]*?\bTarget=["']([^"']+)["']""", rels)}
    names = {}
    for m in re.finditer(rb"""<(?:\w+:)?sheet\b([^>]*)>""", workbook):
        attrs = m.group(1)
        name = re.search(rb"""\bname=["']([^"']*)["']""", attrs)
        rid = re.search(rb"""\br:id=["']([^"']+)["']""", attrs)
        if name and rid and rid.group(1) in targets:
            target = targets[rid.group(1)].decode("utf-8", "replace").lstrip("/")
            part = target if target.startswith("xl/") else f"xl/{target}"
            names[part] = name.group(1).decode("utf-8", "replace")
    return names


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters.upper():
        number = number * 26 + ch - 64
    return number


class _SheetScanner:
    """Follows a worksheet's XML chunk by chunk and keeps the last row and column of its cells (cells without an `r`
    attribute take the next position, as spreadsheet readers do)."""

    def __init__(self) -> None:
        self.carry = b""
        self.row = 0
        self.column = 0
        self.max_row = self.max_col = 0

    def feed(self, chunk: bytes) -> None:
        buf = self.carry + chunk
        cut = buf.rfind(b"<")
        if cut >= 0 and b">" not in buf[cut:]:
            self.carry, buf = buf[cut:], buf[:cut]
            if len(self.carry) > _MAX_TAG_BYTES:
                raise UploadRefused("工作表内容格式异常（单个标签过长）")
        else:
            self.carry = b""
        if self._fast(buf):
            return
        for m in _TAG.finditer(buf):
            ref = _REF.search(m.group(2))
            if m.group(1) == b"row":
                self.row = int(ref.group(2)) if ref and ref.group(2) else self.row + 1
                self.column = 0
                continue
            if ref and ref.group(1):
                self.column = _column_number(ref.group(1))
                if ref.group(2):
                    self.row = int(ref.group(2))
            else:
                self.column += 1
            self.max_row, self.max_col = max(self.max_row, self.row, 1), max(self.max_col, self.column)

    def _fast(self, buf: bytes) -> bool:
        """The common case, every cell of the chunk written `<c r="B12" …` (what Excel, WPS and openpyxl write): one
        literal-prefix regex pass in C and the maximum over its matches. False (nothing counted) when some cell
        leaves its place implicit or carries a namespace prefix: the tag-by-tag path follows positions then."""
        rows = _CELL_ROW.findall(buf)
        if len(rows) != buf.count(b"<c ") + buf.count(b"<c>") + buf.count(b"<c/>") or b":c " in buf or b":c>" in buf:
            return False
        if rows:
            self.max_row = max(self.max_row, max(map(int, rows)))
            widest = max(set(_CELL_COLUMN.findall(buf)), key=lambda c: (len(c), c))
            self.max_col = max(self.max_col, _column_number(widest))
            last = _CELL_REF.search(buf, buf.rfind(b'<c r="'))
            if last:  # where the tag-by-tag path would resume, should a later chunk need it
                self.row, self.column = int(last.group(2)), _column_number(last.group(1))
        at = buf.rfind(b"<row")
        last_row = _LAST_ROW.match(buf, at) if at >= 0 else None
        if last_row and at > buf.rfind(b"<c "):
            self.row, self.column = int(last_row.group(1)), 0
        return True

    def size(self) -> tuple[int, int]:
        return (self.max_row, self.max_col) if self.max_row else (0, 0)


def as_validation_error(exc: UploadRefused, field: str | None = None) -> Any:
    """The refusal as a Django ValidationError (for forms and services)."""
    from django.core.exceptions import ValidationError

    return ValidationError({field: [str(exc)]}) if field else ValidationError(str(exc), code="upload")
