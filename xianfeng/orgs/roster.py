"""Roster import (党员花名册导入): a spreadsheet of members, all or nothing.

This is the documented bulk path beside `services.person_upsert` / `member_create` / `member_transfer`. It applies the
same rules through the same code (`services.clean_person_fields`, `services.check_member_dates`, the validators in
`xianfeng.core.ids`, the models' field lengths), but for a whole file at once: every row is validated in memory,
organisations and existing people are looked up in a few queries, and the rows are written inside one transaction.

Writes go through Django's connection with statements built from the models' metadata: `executemany` on SQLite,
COPY on PostgreSQL. Measured on a 20,000-row county roster (SQLite, 2 cores): `bulk_create` spent 1.9 s turning
values into SQL for the three tables (person, member, membership) against 0.3 s for `executemany` of the same rows;
on PostgreSQL, COPY took the whole import from 3.7 s to 1.4 s. The database's constraints check every path alike.
Only the import writes this way.

Callers:
    views_roster (upload → dry run → confirm), the `import_roster` command, and the demo generator:
        roster_import_or_raise(rows=[{"姓名": …, "身份证号": …, "所在党组织": "330424001001D01", …}], actor=None)
"""

from __future__ import annotations

import datetime as dt
import math
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Field, Max, Model
from django.utils import timezone

from xianfeng.core.audit import audit_record
from xianfeng.core.excel import SpreadsheetError, Table, normalise_header, read_table
from xianfeng.core.ids import normalise_key, normalise_text, parse_date
from xianfeng.core.scoping import SEGMENT, scope_paths, scope_q
from xianfeng.core.text import pinyin_initials

from . import services
from .models import Member, Membership, Organisation, Person, Resident

HEADERS = ("姓名", "性别", "民族", "出生日期", "身份证号", "手机号", "学历", "职业", "入党日期", "转正日期",
           "所在党组织", "人员类别", "状态", "是否在职")
REQUIRED = ("姓名", "身份证号", "入党日期", "所在党组织")
# Other names the same columns go by in rosters people already keep.
ALIASES = {
    "身份证号码": "身份证号", "公民身份号码": "身份证号", "身份证": "身份证号",
    "手机": "手机号", "手机号码": "手机号", "联系电话": "手机号",
    "文化程度": "学历", "入党时间": "入党日期", "转正时间": "转正日期",
    "所在党支部": "所在党组织", "党组织": "所在党组织", "所在组织": "所在党组织", "党组织编码": "所在党组织",
    "党员类别": "人员类别", "类别": "人员类别", "党籍状态": "状态", "在职": "是否在职",
}
# Plain str values (not the enum members): they go straight into executemany.
CATEGORIES = {label: str(value) for value, label in Member.Category.choices} | {v: v for v in Member.Category.values}
_IMPORTABLE_STATUSES = (Member.Status.ACTIVE, Member.Status.RETIRED, Member.Status.FLOWING, Member.Status.LIMITED)
STATUSES = ({str(s.label): s.value for s in _IMPORTABLE_STATUSES} | {s.value: s.value for s in _IMPORTABLE_STATUSES}
            | {"退休": Member.Status.RETIRED.value, "流动": Member.Status.FLOWING.value})
PRIMARY, MANAGING = Membership.Kind.PRIMARY.value, Membership.Kind.MANAGING.value
YES_NO = {"是": True, "在职": True, "Y": True, "YES": True, "TRUE": True, "1": True,
          "否": False, "不在职": False, "N": False, "NO": False, "FALSE": False, "0": False}
GENDERS = {"男": "男", "女": "女", "男性": "男", "女性": "女", "M": "男", "F": "女"}
CATEGORY_LABELS = dict(Member.Category.choices)
STATUS_LABELS = dict(Member.Status.choices)
MAX_ROWS = 200_000
TRANSFER_REASON = "组织关系转接"
# Columns of the bulk statements (same names as the model fields).
PERSON_FIELDS = ("name", "gender", "ethnicity", "birth_date", "phone")
MEMBER_FIELDS = ("org", "category", "status", "join_date", "full_date", "education", "occupation", "on_the_job")
_PERSON_COLUMN = {"name": "姓名", "id_number": "身份证号", "phone": "手机号", "gender": "性别", "birth_date": "出生日期"}
_MEMBER_COLUMN = {"join_date": "入党日期", "full_date": "转正日期"}


@dataclass(frozen=True)
class RowError:
    """One reason a row cannot be imported. `row` is the row number in the file (0: the file as a whole)."""

    row: int
    column: str
    message: str
    value: str = ""

    def __str__(self) -> str:
        where = f"第{self.row}行" if self.row else "文件"
        return f"{where} {self.column}：{self.message}" if self.column else f"{where}：{self.message}"


@dataclass
class ImportResult:
    """What an import did (or, for a dry run or a failed one, would do). Nothing is written unless `ok`."""

    total: int
    dry_run: bool
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    transferred: int = 0
    errors: list[RowError] = field(default_factory=list)
    seconds: float = 0.0
    source: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def bad_rows(self) -> int:
        return len({e.row for e in self.errors})

    def errors_by_row(self) -> dict[int, list[RowError]]:
        grouped: dict[int, list[RowError]] = {}
        for error in self.errors:
            grouped.setdefault(error.row, []).append(error)
        return dict(sorted(grouped.items()))

    def summary(self) -> str:
        """One line for commands and logs: `imported 20,412 members in 1.8 s; 0 errors`."""
        verb = "checked" if self.dry_run or not self.ok else "imported"
        line = f"{verb} {self.total:,} members in {self.seconds:.1f} s; {len(self.errors):,} errors"
        if self.ok:
            line += (f" ({self.created:,} created, {self.updated:,} updated, {self.unchanged:,} unchanged,"
                     f" {self.transferred:,} transferred{'; dry run, nothing written' if self.dry_run else ''})")
        else:
            line += f" in {self.bad_rows:,} rows; nothing written"
        return line


class RosterImportError(Exception):
    """Raised by roster_import_or_raise when any row is bad; `.result` lists every bad row."""

    def __init__(self, result: ImportResult):
        self.result = result
        shown = "; ".join(str(e) for e in result.errors[:5])
        more = f" (+{len(result.errors) - 5} more)" if len(result.errors) > 5 else ""
        super().__init__(f"{len(result.errors)} errors: {shown}{more}")


def canonical_header(header: str) -> str:
    """`*身份证号码（必填）` → `身份证号`; unknown headers come back normalised."""
    text = normalise_header(header).strip("*")
    for suffix in ("(必填)", "(选填)", "(可选)"):
        text = text.removesuffix(suffix)
    return ALIASES.get(text, text)


def _looks_like_roster_header(cells: list[str]) -> bool:
    names = {canonical_header(c) for c in cells}
    return "姓名" in names and "身份证号" in names


def roster_read(source: bytes | IO[bytes] | str | Path, *, filename: str | None = None) -> Table:
    """Read an uploaded roster (.xlsx or .csv), bounded by core.uploads' limits. Raises
    xianfeng.core.excel.SpreadsheetError, also for a cell whose text is a formula (starts with "="): no roster field
    is one, and such text would run as a formula wherever the data is pasted back into a spreadsheet. (A formula cell
    of an .xlsx is read as the value Excel saved with it, never evaluated.)"""
    table = read_table(source, filename=filename, is_header=_looks_like_roster_header, max_rows=MAX_ROWS)
    for row, number in zip(table.rows, table.row_numbers, strict=True):
        for header, value in row.items():
            if type(value) is str and value.lstrip().startswith("="):
                raise SpreadsheetError(f"第{number}行“{header}”列的内容以“=”开头（公式）：请改为普通文本后重新上传")
    return table


# ------------------------------------------------------------------------------------------------ validating a row


@dataclass(slots=True)
class _Row:
    number: int
    person: dict[str, Any]  # clean_person_fields' result: name, ethnicity, id_number, gender, birth_date, phone
    member: dict[str, Any]  # category, status, join_date, full_date, education, occupation, on_the_job
    org_key: str
    org_id: int = 0
    org_path: str = ""


def _text(value: Any) -> str:
    return normalise_text(_plain(value))


def _key(value: Any) -> str:
    """A cell matched against known values (a choice, an organisation's code or path): full-width folded."""
    return normalise_key(_plain(value))


def _plain(value: Any) -> Any:
    """Non-finite floats as text, so the validators answer with a reason instead of failing on int(nan)."""
    return str(value) if isinstance(value, float) and not math.isfinite(value) else value


def _date(value: Any) -> dt.date | None:
    return parse_date(_plain(value))


def _max_length(model: type[Model], name: str) -> int:
    return cast(int, cast(Field, model._meta.get_field(name)).max_length)


_LIMITS = {"民族": _max_length(Person, "ethnicity"), "学历": _max_length(Member, "education"),
           "职业": _max_length(Member, "occupation")}


def _id_cell(value: Any) -> Any:
    """An ID number Excel stored as a number has lost its last digits (floats keep 15-16): say so plainly."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) >= 2**53:
        raise ValidationError("身份证号被 Excel 存成了数字，末几位已丢失；请把该列设为“文本”格式后重新填写")
    return value


def _gender(value: Any) -> tuple[str, str | None]:
    text = _key(value)
    if not text:
        return "", None
    gender = GENDERS.get(text) or GENDERS.get(text.upper())
    return (gender, None) if gender else ("", "性别应填写“男”或“女”")


def _choice(mapping: Mapping[str, Any], default: Any, message: str) -> Callable[[Any], tuple[Any, str | None]]:
    def parse(value: Any) -> tuple[Any, str | None]:
        if isinstance(value, bool) and mapping is YES_NO:
            return value, None
        text = _key(value)
        if not text:
            return default, None
        found = mapping.get(text, mapping.get(text.upper()))
        return (found, None) if found is not None else (None, message)
    return parse


def _limited(column: str) -> Callable[[Any], tuple[str, str | None]]:
    limit = _LIMITS[column]

    def parse(value: Any) -> tuple[str, str | None]:
        text = _text(value)
        return (text, None) if len(text) <= limit else (text, f"不能超过{limit}个字")
    return parse


def _org_cell(value: Any) -> tuple[str, str | None]:
    key = _org_key(value)
    return (key, None) if key else ("", "所在党组织为空")


# Columns whose few distinct values repeat on every row: each distinct cell is parsed once per import.
_REPEATED: dict[str, Callable[[Any], tuple[Any, str | None]]] = {
    "性别": _gender,
    "民族": _limited("民族"),
    "学历": _limited("学历"),
    "职业": _limited("职业"),
    "人员类别": _choice(CATEGORIES, Member.Category.FULL.value, "人员类别应为“预备党员”或“正式党员”"),
    "状态": _choice(STATUSES, Member.Status.ACTIVE.value, "状态应为“在册”“离退休”“流动党员”或“行动不便”"),
    "是否在职": _choice(YES_NO, True, "是否在职应填写“是”或“否”"),
    "所在党组织": _org_cell,
}


class _Cells:
    """One row's cells by canonical column, with the repeated columns' parses remembered across rows."""

    __slots__ = ("keys", "memo", "row")

    def __init__(self, keys: dict[str, Any]):
        self.keys = keys
        self.memo: dict[tuple[str, type, Any], tuple[Any, str | None]] = {}
        self.row: Mapping[str, Any] = {}

    def raw(self, column: str) -> Any:
        return self.row.get(self.keys[column])

    def parsed(self, column: str) -> tuple[Any, str | None]:
        value = self.row.get(self.keys[column])
        key = (column, type(value), value)
        try:
            return self.memo[key]
        except KeyError:
            found = self.memo[key] = _REPEATED[column](value)
            return found
        except TypeError:  # an unhashable value (only from code, never from a file)
            return _REPEATED[column](value)


def _clean_row(number: int, cells: _Cells, errors: list[RowError]) -> _Row:
    """Validate one row with the services' rules, appending every problem to `errors`. The row comes back either way,
    with `person` empty if the person's own fields were bad."""

    def fail(column: str, message: str) -> None:
        raw = cells.raw(column)
        errors.append(RowError(number, column, message, "" if raw is None else str(raw)[:100]))

    parsed = {}
    for column in _REPEATED:
        value, message = cells.parsed(column)
        if message:
            fail(column, message)
        parsed[column] = value
    birth = None
    try:
        birth = _date(cells.raw("出生日期"))
    except ValidationError as exc:
        fail("出生日期", exc.messages[0])
    person: dict[str, Any] = {}
    try:
        person = services.clean_person_fields(
            name=cells.raw("姓名"), id_number=_id_cell(cells.raw("身份证号")), phone=_plain(cells.raw("手机号")),
            gender=parsed["性别"], birth_date=birth, ethnicity=parsed["民族"],
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for key, messages in exc.message_dict.items():
                for message in messages:
                    fail(_PERSON_COLUMN.get(key, key), message)
        else:
            fail("身份证号", exc.messages[0])
    # The validators' \d also matches non-ASCII digits (e.g. ٣); the database allows only 0-9.
    if person and not (person["id_number"].isascii() and person["phone"].isascii()):
        fail("身份证号" if not person["id_number"].isascii() else "手机号", "只能填写半角数字")
        person = {}
    join_date = full_date = None
    try:
        join_date = _date(cells.raw("入党日期"))
        if join_date is None:
            fail("入党日期", "入党日期为空")
    except ValidationError as exc:
        fail("入党日期", exc.messages[0])
    try:
        full_date = _date(cells.raw("转正日期"))
    except ValidationError as exc:
        fail("转正日期", exc.messages[0])
    category = parsed["人员类别"]
    if person and join_date and category:
        try:
            services.check_member_dates(birth_date=person["birth_date"], join_date=join_date, full_date=full_date,
                                        category=category)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                for message in messages:
                    fail(_MEMBER_COLUMN.get(key, key), message)
    member = {"category": category, "status": parsed["状态"], "join_date": join_date, "full_date": full_date,
              "education": parsed["学历"], "occupation": parsed["职业"], "on_the_job": parsed["是否在职"]}
    # A bad row still goes on to the checks that need the database (organisation, ID number already a member
    # elsewhere), so the user learns everything wrong with it at once; it is never written.
    return _Row(number=number, person=person, member=member, org_key=parsed["所在党组织"])


def _org_key(value: Any) -> str:
    """An organisation cell: a code, or a path of names; `海盐县 / 武原镇／河滨社区` → `海盐县/武原镇/河滨社区`."""
    text = _key(value).replace("\\", "/")
    if "/" in text:
        return "/".join(part.strip() for part in text.split("/") if part.strip())
    return text


def _columns(rows: Sequence[Mapping[str, Any]]) -> tuple[dict[str, str], list[RowError]]:
    """The file's key for each known column, and errors for missing or repeated columns."""
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(row))
    columns: dict[str, str] = {}
    errors = []
    for key in keys:
        name = canonical_header(key)
        if name in HEADERS:
            if name in columns:
                errors.append(RowError(0, name, f"列名重复（“{columns[name]}”和“{key}”），请只保留一列"))
            columns[name] = key
    for name in REQUIRED:
        if name not in columns:
            errors.append(RowError(0, name, f"缺少必填列“{name}”"))
    return columns, errors


# --------------------------------------------------------------------------------------------------- the service


@dataclass
class _Plan:
    new_people: list[_Row] = field(default_factory=list)
    changed_people: list[tuple[int, _Row]] = field(default_factory=list)  # (person id, row)
    new_members: list[_Row] = field(default_factory=list)  # person ids known after new_people are written
    changed_members: list[tuple[int, _Row, int | None]] = field(default_factory=list)  # (member id, row, managing)
    transfers: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (member, from org, to org, managing)
    person_ids: dict[str, int] = field(default_factory=dict)
    created: int = 0
    updated: int = 0
    unchanged: int = 0


Progress = Callable[[str, int, int], None]


def roster_import(*, rows: Iterable[Mapping[str, Any]], actor: Any, dry_run: bool = False,
                  row_numbers: Sequence[int] | None = None, source: str = "",
                  progress: Progress | None = None) -> ImportResult:
    """Import members from roster rows (dicts keyed by the Chinese headers in HEADERS), all or nothing.

    `actor` is the importing user (None: the system, e.g. the demo or a command without --user, may import
    anywhere); rows may go only into organisations inside `Organisation.objects.restrict(actor, "change")`, and a person who is
    already a member elsewhere outside that scope is refused. People are matched by ID number: a new one is created,
    a known one updated, an unchanged one left alone; a changed organisation is a transfer (the open Membership is
    closed today and a new one opened, as services.member_transfer does). `row_numbers` are the numbers the user
    sees in the file (default: row i is on line i + 2, under one header row).

    If any row is bad, nothing is written and `errors` lists every problem. A real import that changes something
    leaves one audit row with the counts; a dry run writes nothing at all. `progress(stage, done, total)` is called
    now and then for long files.
    """
    by = actor
    started = time.perf_counter()
    rows = list(rows)
    numbers = list(row_numbers) if row_numbers is not None else [i + 2 for i in range(len(rows))]
    result = ImportResult(total=len(rows), dry_run=dry_run, source=source)
    columns, header_errors = _columns(rows)
    if not rows:
        result.errors = [RowError(0, "", "文件中没有数据行")]
    elif header_errors:
        result.errors = header_errors
    elif dry_run:
        _plan(rows, numbers, columns, by=by, result=result, lock=False, progress=progress)
    else:
        try:
            with transaction.atomic():
                plan = _plan(rows, numbers, columns, by=by, result=result, lock=True, progress=progress)
                if result.ok:
                    _write(plan, by=by, result=result, progress=progress)
        except IntegrityError:
            # Someone changed the same people while this file was being imported; nothing of it was kept.
            result.created = result.updated = result.unchanged = result.transferred = 0
            result.errors = [RowError(0, "", "导入期间这些人员的数据被其他操作修改，本次未写入任何数据，请重新导入")]
    result.errors.sort(key=lambda e: e.row)  # stable: a row's errors keep the order of its columns' checks
    result.seconds = time.perf_counter() - started
    return result


def roster_import_or_raise(*, rows: Iterable[Mapping[str, Any]], actor: Any = None, source: str = "demo",
                           row_numbers: Sequence[int] | None = None) -> ImportResult:
    """roster_import for code that expects valid rows (the demo generator): raises RosterImportError otherwise."""
    result = roster_import(rows=rows, actor=actor, source=source, row_numbers=row_numbers)
    if not result.ok:
        raise RosterImportError(result)
    return result


def _plan(rows: list[Mapping[str, Any]], numbers: list[int], columns: dict[str, str], *, by: Any,
          result: ImportResult, lock: bool, progress: Progress | None) -> _Plan:
    errors = result.errors
    clean: list[_Row] = []
    total = len(rows)
    # A column missing from the file reads as empty: no row has the key object() (a fresh sentinel).
    missing = object()
    cells = _Cells({column: columns.get(column, missing) for column in HEADERS})
    for index, (row, number) in enumerate(zip(rows, numbers, strict=True)):
        cells.row = row
        clean.append(_clean_row(number, cells, errors))
        if progress and index % 2000 == 1999 and index + 1 < total:
            progress("validate", index + 1, total)
    if progress:
        progress("validate", total, total)

    paths = None if by is None else scope_paths(by, "change")
    _resolve_orgs([r for r in clean if r.org_key], paths, errors)
    first_seen: dict[str, int] = {}
    unique: list[_Row] = []
    for r in clean:
        if not r.person:
            continue
        id_number = r.person["id_number"]
        if id_number in first_seen:
            errors.append(RowError(r.number, "身份证号", f"与第{first_seen[id_number]}行的身份证号重复", id_number))
        else:
            first_seen[id_number] = r.number
            unique.append(r)
    plan = _Plan()
    _compare(unique, paths, plan, errors, lock=lock)
    if not errors:
        result.created, result.updated, result.unchanged = plan.created, plan.updated, plan.unchanged
        result.transferred = len(plan.transfers)
    return plan


def _in_scope(path: str, paths: list[str] | None) -> bool:
    return paths is None or any(path.startswith(p) for p in paths)


def _person_in_scope(resident_path: str | None, paths: list[str] | None) -> bool:
    """A known non-member: in scope through their resident organisation, or (none) for the county only."""
    if resident_path is None:
        return paths is None or any(len(p) == SEGMENT for p in paths)
    return _in_scope(resident_path, paths)


def _scoped_orgs(paths: list[str] | None):
    qs = Organisation.objects.all()
    if paths is not None:
        qs = qs.filter(scope_q(["path"], paths)) if paths else qs.none()
    return qs


def _resolve_orgs(rows: list[_Row], paths: list[str] | None, errors: list[RowError]) -> None:
    """Find each row's organisation by code or full name inside the scope (two queries; a third, for shortened
    names such as 河滨社区/河滨社区党支部, only when some are left)."""
    keys = {r.org_key for r in rows}
    codes: dict[str, list[str]] = {}
    for key in keys:
        if "/" not in key:
            codes.setdefault(key.replace(" ", "").upper(), []).append(key)
    found: dict[str, tuple[int, str]] = {}
    scoped = _scoped_orgs(paths)
    for chunk in _chunks(list(codes)):
        for pk, code, path in scoped.filter(code__in=chunk).values_list("pk", "code", "path"):
            for key in codes[code]:
                found[key] = (pk, path)
    left = [k for k in keys if k not in found]
    for chunk in _chunks(left):
        for pk, full_name, path in scoped.filter(full_name__in=chunk).values_list("pk", "full_name", "path"):
            found[full_name] = (pk, path)
    left = [k for k in keys if k not in found]
    ambiguous: set[str] = set()
    if left:
        suffixes: dict[str, tuple[int, str] | None] = {}
        for pk, full_name, path in scoped.values_list("pk", "full_name", "path").iterator(chunk_size=5000):
            parts = full_name.split("/")
            for i in range(1, len(parts)):
                suffix = "/".join(parts[i:])
                suffixes[suffix] = None if suffix in suffixes else (pk, path)
        for key in left:
            if key in suffixes:
                hit = suffixes[key]
                if hit is None:
                    ambiguous.add(key)
                else:
                    found[key] = hit
    for r in rows:
        hit = found.get(r.org_key)
        if hit is None:
            message = ("有多个组织叫这个名称，请填写组织编码或从县开始的完整名称" if r.org_key in ambiguous
                       else "找不到该组织，或不在您的管理范围内（请填写组织编码或完整名称）")
            errors.append(RowError(r.number, "所在党组织", message, r.org_key))
        else:
            r.org_id, r.org_path = hit


def _chunk_size() -> int:
    """Parameters per IN list: 10,000, or fewer if this SQLite build allows fewer (old builds: 999)."""
    if connection.vendor != "sqlite":
        return 10_000
    connection.ensure_connection()
    try:
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except (AttributeError, sqlite3.Error):
        limit = 999
    return max(100, min(10_000, limit - 10))


def _chunks(items: list[Any]) -> Iterable[list[Any]]:
    size = _chunk_size()
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _compare(rows: list[_Row], paths: list[str] | None, plan: _Plan, errors: list[RowError], *, lock: bool) -> None:
    """Sort rows into new / changed / unchanged against what the database holds (a few queries per 10,000 rows)."""
    people: dict[str, tuple] = {}
    members: dict[int, tuple] = {}
    person_qs = Person.objects.all()
    member_qs = Member.objects.all()
    if lock:  # PostgreSQL: hold these rows until the import commits (SQLite's write transaction locks everything)
        person_qs = person_qs.select_for_update()
        member_qs = member_qs.select_for_update(of=("self",))
    for chunk in _chunks([r.person["id_number"] for r in rows]):
        for values in person_qs.filter(id_number__in=chunk).values_list("id_number", "id", *PERSON_FIELDS):
            people[values[0]] = values[1:]
    for chunk in _chunks([p[0] for p in people.values()]):
        for values in member_qs.filter(person_id__in=chunk).values_list(
                "person_id", "id", "org__path", "managing_org_id", *(f if f != "org" else "org_id" for f in MEMBER_FIELDS)):
            members[values[0]] = values[1:]
    # A known person who is not a member belongs to their village or community as a resident, or (neither) to the
    # county: the same rule as services.person_in_scope, read for the whole file in a few queries.
    residents: dict[int, str] = {}
    if paths is not None:
        for chunk in _chunks([p[0] for p in people.values() if p[0] not in members]):
            residents.update(Resident.objects.filter(person_id__in=chunk).values_list("person_id", "org__path"))
    today = timezone.localdate()
    bad = {e.row for e in errors}
    open_starts = _open_primary_starts([r for r in rows if r.number not in bad], people, members)
    for r in rows:
        known = people.get(r.person["id_number"])
        member = members.get(known[0]) if known is not None else None
        if member is not None and not _in_scope(member[1], paths):
            errors.append(RowError(r.number, "身份证号", "此人已是其他组织（不在您的管理范围内）的党员，"
                                   "请由其所在组织办理组织关系转接", r.person["id_number"]))
            continue
        if known is not None and member is None and not _person_in_scope(residents.get(known[0]), paths):
            errors.append(RowError(r.number, "身份证号", "此人属于其他组织（不在您的管理范围内），导入不能修改或登记；"
                                   "请发起关联申请，由其所在组织同意", r.person["id_number"]))
            continue
        if known is not None and not r.person["phone"]:
            r.person["phone"] = known[PERSON_FIELDS.index("phone") + 1]  # an empty cell never wipes a phone
        if r.number in bad:
            continue  # already wrong: looked up only for the check above
        if known is None:
            plan.new_people.append(r)
            plan.new_members.append(r)
            plan.created += 1
            continue
        person_id = known[0]
        plan.person_ids[r.person["id_number"]] = person_id
        person_changed = tuple(r.person[f] for f in PERSON_FIELDS) != known[1:]
        if member is None:
            plan.new_members.append(r)
            plan.created += 1
            if person_changed:
                plan.changed_people.append((person_id, r))
            continue
        member_id, org_path, managing_id, *current = member
        wanted = [r.org_id, *(r.member[f] for f in MEMBER_FIELDS[1:])]
        if not person_changed and wanted == current:
            plan.unchanged += 1
            continue
        if r.org_id != current[0]:
            start = open_starts.get(member_id)
            if start is not None and today < start:
                errors.append(RowError(r.number, "所在党组织", "转出日期早于转入日期（现组织关系的转入日期晚于今天）"))
                continue
            clears_managing = managing_id == r.org_id
            plan.transfers.append((member_id, current[0], r.org_id, clears_managing))
            managing_id = None if clears_managing else managing_id
        plan.updated += 1
        if person_changed:
            plan.changed_people.append((person_id, r))
        plan.changed_members.append((member_id, r, managing_id))


def _open_primary_starts(rows: list[_Row], people: dict[str, tuple], members: dict[int, tuple]) -> dict[int, dt.date]:
    """Start dates of the open primary memberships of members whose organisation the file changes."""
    moving = []
    for r in rows:
        known = people.get(r.person["id_number"])
        member = members.get(known[0]) if known else None
        if member is not None and member[3] != r.org_id:
            moving.append(member[0])
    starts: dict[int, dt.date] = {}
    for chunk in _chunks(moving):
        starts.update(Membership.objects.filter(member_id__in=chunk, kind=PRIMARY, end__isnull=True)
                      .values_list("member_id", "start"))
    return starts


# ------------------------------------------------------------------------------------------------------- writing


def _sql_names(model: type[Model], names: Sequence[str]) -> tuple[str, list[str]]:
    quote = connection.ops.quote_name
    meta = model._meta
    return quote(meta.db_table), [quote(cast(Field, meta.get_field(n)).column) for n in names]


def _insert(model: type[Model], names: Sequence[str], values: list[tuple]) -> None:
    """INSERT many rows; table and column names come from the model, values are parameters.

    SQLite: one prepared statement run per row (executemany). PostgreSQL: COPY, which checks the same constraints
    and was 5× faster than executemany there (20,000 people: 0.15 s against 0.7 s).
    """
    if not values:
        return
    table, cols = _sql_names(model, names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY bypasses Django's cursor wrapper: translate driver errors (a unique violation from a concurrent
            # import) into django.db's, as every other statement does.
            with connection.wrap_database_errors, cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(['%s'] * len(cols))})"  # noqa: S608
        cursor.executemany(sql, values)


def _update(model: type[Model], names: Sequence[str], where: Sequence[str], values: list[tuple]) -> None:
    """UPDATE many rows: each tuple holds the new values of `names`, then the values of the `where` columns."""
    if not values:
        return
    table, cols = _sql_names(model, names)
    _, keys = _sql_names(model, where)
    sets = ", ".join(f"{c} = %s" for c in cols)
    conditions = " AND ".join(f"{k} = %s" for k in keys)
    sql = f"UPDATE {table} SET {sets} WHERE {conditions}"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _last_id(model: type[Model]) -> int:
    return model._default_manager.aggregate(last=Max("id"))["last"] or 0


def _inserted_since(model: type[Model], last_id: int, key: str) -> Iterable[tuple[Any, int]]:
    """(key, id) of rows with ids above `last_id`: the rows just inserted, found by a primary-key range instead of
    thousands of IN parameters. Ids only grow, so every row inserted after `last_id` was read is in the range; rows
    other transactions committed meanwhile are in it too, and the caller keeps only its own keys."""
    return model._default_manager.filter(id__gt=last_id).values_list(key, "id").iterator(chunk_size=5000)


def _write(plan: _Plan, *, by: Any, result: ImportResult, progress: Progress | None) -> None:
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    today = timezone.localdate()
    day = ops.adapt_datefield_value

    def person_values(r: _Row) -> tuple:
        p = r.person
        return (p["name"], pinyin_initials(p["name"])[:30], p["gender"], p["ethnicity"], day(p["birth_date"]),
                p["phone"])

    steps = 6
    last_person = _last_id(Person)
    _insert(Person, ("name", "initials", "gender", "ethnicity", "birth_date", "phone", "id_number", "created_at",
                     "updated_at"),
            [(*person_values(r), r.person["id_number"], now, now) for r in plan.new_people])
    if progress:
        progress("write", 1, steps)
    new_numbers = {r.person["id_number"] for r in plan.new_people}
    plan.person_ids.update((number, pk) for number, pk in _inserted_since(Person, last_person, "id_number")
                           if number in new_numbers)
    _update(Person, ("name", "initials", "gender", "ethnicity", "birth_date", "phone", "updated_at"), ("id",),
            [(*person_values(r), now, person_id) for person_id, r in plan.changed_people])
    if progress:
        progress("write", 2, steps)

    member_names = ("category", "status", "join_date", "full_date", "education", "occupation", "on_the_job")

    def member_values(r: _Row) -> tuple:
        m = r.member
        return (m["category"], m["status"], day(m["join_date"]), day(m["full_date"]), m["education"], m["occupation"],
                m["on_the_job"])

    last_member = _last_id(Member)
    _insert(Member, ("person", "org", *member_names, "created_at", "updated_at"),
            [(plan.person_ids[r.person["id_number"]], r.org_id, *member_values(r), now, now)
             for r in plan.new_members])
    if progress:
        progress("write", 3, steps)
    new_person_ids = [plan.person_ids[r.person["id_number"]] for r in plan.new_members]
    wanted = set(new_person_ids)
    member_ids = {person_id: pk for person_id, pk in _inserted_since(Member, last_member, "person_id")
                  if person_id in wanted}
    _insert(Membership, ("member", "org", "kind", "start", "reason_in", "reason_out"),
            [(member_ids[pid], r.org_id, PRIMARY, day(r.member["join_date"]), "入党", "")
             for pid, r in zip(new_person_ids, plan.new_members, strict=True)])
    if progress:
        progress("write", 4, steps)

    _update(Member, ("org", "managing_org", *member_names, "updated_at"), ("id",),
            [(r.org_id, managing, *member_values(r), now, member_id) for member_id, r, managing in plan.changed_members])
    if progress:
        progress("write", 5, steps)
    # Transfers, as services.member_transfer: close the open primary membership today, open one in the new
    # organisation; a managing (一联双管) organisation that becomes the primary one is ended.
    if plan.transfers:
        table, (end, reason_out, member, kind) = _sql_names(Membership, ("end", "reason_out", "member", "kind"))
        sql = f"UPDATE {table} SET {end} = %s, {reason_out} = %s WHERE {member} = %s AND {kind} = %s AND {end} IS NULL"  # noqa: S608,E501
        closing = [(day(today), TRANSFER_REASON, member_id, PRIMARY) for member_id, _, _, _ in plan.transfers]
        closing += [(day(today), TRANSFER_REASON, member_id, MANAGING)
                    for member_id, _, _, clears in plan.transfers if clears]
        with connection.cursor() as cursor:
            cursor.executemany(sql, closing)
        _insert(Membership, ("member", "org", "kind", "start", "reason_in", "reason_out"),
                [(member_id, to_org, PRIMARY, day(today), TRANSFER_REASON, "")
                 for member_id, _, to_org, _ in plan.transfers])
    if progress:
        progress("write", 6, steps)
    if result.created or result.updated:
        changed_ids = [member_id for member_id, _, _ in plan.changed_members]
        audit_record(
            by=by, action="import", model="orgs.Member",
            summary=(f"导入党员花名册{(' ' + result.source) if result.source else ''}：共{result.total}行，"
                     f"新增{result.created}，更新{result.updated}（其中组织关系转接{result.transferred}），"
                     f"未变{result.unchanged}"),
            after={"source": result.source, "rows": result.total, "created": result.created,
                   "updated": result.updated, "unchanged": result.unchanged, "updated_member_ids": changed_ids,
                   "transfers": [[m, f, t] for m, f, t, _ in plan.transfers]},
        )


def roster_labels(member: Member) -> dict[str, Any]:
    """A member as a roster row (the same headers the import reads), ID number and phone unmasked."""
    person = member.person
    return {
        "姓名": person.name, "性别": person.get_gender_display(), "民族": person.ethnicity,
        "出生日期": person.birth_date, "身份证号": person.id_number or "", "手机号": person.phone,
        "学历": member.education, "职业": member.occupation, "入党日期": member.join_date,
        "转正日期": member.full_date, "所在党组织": member.org.full_name,
        "人员类别": CATEGORY_LABELS.get(member.category, member.category),
        "状态": STATUS_LABELS.get(member.status, member.status), "是否在职": "是" if member.on_the_job else "否",
    }
