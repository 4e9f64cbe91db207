"""Hand-made hostile uploads, shared by the upload, roster and live-server tests. Each is small on disk."""

from __future__ import annotations

import functools
import io
import struct
import zipfile
import zlib

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
         'xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" '
         'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
         'Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook '
             'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
             '<sheet name="党员花名册" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships '
                  'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
                  '<Relationship Id="rId1" '
                  'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
                  'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
                  'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                  'Target="sharedStrings.xml"/></Relationships>')
_SHARED = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
           ' count="1" uniqueCount="1"><si><t></t></si></sst>')
_NS = '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
HEADER_ROW = ('<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c>'
              '<c r="B1" t="inlineStr"><is><t>身份证号</t></is></c></row>')


def xlsx_with_sheet(sheet_data: str | bytes, *, dimension: str = "", extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal valid .xlsx whose first sheet's <sheetData> is `sheet_data` (raw XML)."""
    if isinstance(sheet_data, str):
        sheet_data = sheet_data.encode()
    dim = f'<dimension ref="{dimension}"/>'.encode() if dimension else b""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/sharedStrings.xml", _SHARED)
        z.writestr("xl/worksheets/sheet1.xml", _NS.encode() + dim + b"<sheetData>" + sheet_data
                   + b"</sheetData></worksheet>")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


def dimension_trick() -> bytes:
    """Declared A1:XFD1048576, one cell at XFD1048576 (the file that stopped the site)."""
    return xlsx_with_sheet('<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>',
                           dimension="A1:XFD1048576")


def corner_cells() -> bytes:
    """A header at A1 and one cell at XFD1048576: a reader holding the sheet as one grid needs 2^34 cells."""
    return xlsx_with_sheet(HEADER_ROW + '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')


def million_empty_rows(rows: int = 1_000_000) -> bytes:
    """A header, then `rows` rows whose only cell is an empty shared string (rows and cells without `r`, which the
    format allows: each takes the next position)."""
    return xlsx_with_sheet(HEADER_ROW.encode() + b'<row><c t="s"><v>0</v></c></row>' * rows)


@functools.lru_cache(maxsize=4)
def zip_bomb(inflated: int = 400 * 1024 * 1024) -> bytes:
    """A valid-looking .xlsx with one extra member of `inflated` zero bytes (~400 KB zipped for 400 MB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("xl/workbook.xml", _WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        z.writestr("xl/worksheets/sheet1.xml", _NS + "<sheetData>" + HEADER_ROW + "</sheetData></worksheet>")
        with z.open("xl/media/zeros.bin", "w") as member:
            block = b"\0" * (1024 * 1024)
            for _ in range(inflated // len(block)):
                member.write(block)
    return buf.getvalue()


@functools.lru_cache(maxsize=4)
def lying_zip_bomb(inflated: int = 300 * 1024 * 1024) -> bytes:
    """A zip bomb whose member headers claim 1 KB: only counting while inflating catches it."""
    data = zip_bomb(inflated)
    real = struct.pack("<I", inflated)
    fake = struct.pack("<I", 1024)
    # Local header (offset 22) and central directory (offset 24) carry the uncompressed size of the big member;
    # rewriting every occurrence of its size is enough for this hand-made file.
    return data.replace(real, fake)


def csv_named_xlsx() -> bytes:
    return "姓名,身份证号,入党日期,所在党组织\n张三,330424198503041234,2010-07-01,330424001001D01\n".encode()


def old_xls() -> bytes:
    """The start of an OLE compound file (what .xls, and encrypted .xlsx, are)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 4000


def formulas() -> bytes:
    """A roster whose name cells are formulas: one with no cached value, one typed as text starting with '='."""
    return xlsx_with_sheet(
        HEADER_ROW + '<row r="2"><c r="A2"><f>HYPERLINK("http://example.invalid","点我")</f></c>'
        '<c r="B2" t="inlineStr"><is><t>330424198503041234</t></is></c></row>'
        '<row r="3"><c r="A3" t="inlineStr"><is><t>=cmd|\' /C calc\'!A0</t></is></c>'
        '<c r="B3" t="inlineStr"><is><t>330424198503041234</t></is></c></row>')


def png(width: int, height: int) -> bytes:
    """A PNG that declares width × height (1-bit grey) with a tiny, truncated IDAT: the header is what matters."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(
        b"IEND", b"")


def decompression_bomb_png() -> bytes:
    """50,000 × 50,000 pixels (2.5 gigapixels) in well under 1 KB."""
    return png(50_000, 50_000)


def oversize(size: int) -> bytes:
    return b"a,b\n" + b"1,2\n" * (size // 4)


HOSTILE_ROSTERS = {
    # name: (filename, bytes builder)
    "dimension_trick": ("dim.xlsx", dimension_trick),
    "corner_cells": ("corner.xlsx", corner_cells),
    "million_empty_rows": ("empty-rows.xlsx", million_empty_rows),
    "csv_named_xlsx": ("roster.xlsx", csv_named_xlsx),
    "old_xls": ("roster.xls", old_xls),
    "xls_named_xlsx": ("roster.xlsx", old_xls),
    "formulas": ("formulas.xlsx", formulas),
    "zip_bomb": ("bomb.xlsx", zip_bomb),
    "lying_zip_bomb": ("liar.xlsx", lying_zip_bomb),
    "png_named_xlsx": ("photo.xlsx", decompression_bomb_png),
}
