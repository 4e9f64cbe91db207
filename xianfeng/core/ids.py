"""Validation and normalisation of what people type into rosters: ID numbers, phones, dates, names.

Pure functions, no database: the roster import, forms and the API all call these.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^[1-9]\d{16}[\dX]$", re.ASCII)
_MOBILE_RE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
_LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$", re.ASCII)
_SPACES = re.compile(r"\s+")
# C0/C1 controls other than whitespace, and the bidi/zero-width format characters that hide what text says.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
EXCEL_EPOCH = dt.date(1899, 12, 30)


def normalise_text(value: object) -> str:
    """Free text as the person wrote it: control characters dropped, every run of spaces (incl. U+3000 and line
    breaks) collapses to one space, trimmed. Full-width punctuation (：，！（）) is kept — it is what was written."""
    if value is None:
        return ""
    text = _CONTROLS.sub("", str(value))
    return _SPACES.sub(" ", text).strip()


def normalise_key(value: object) -> str:
    """A value compared or looked up rather than read (codes, choices, organisation paths): normalise_text after
    NFKC, so full-width letters, digits and punctuation become half-width."""
    return normalise_text(unicodedata.normalize("NFKC", "" if value is None else str(value)))


def normalise_compact(value: object) -> str:
    """normalise_key with every space removed (ID numbers, phones, codes)."""
    return normalise_key(value).replace(" ", "")


def id_check_char(first17: str) -> str:
    """The GB 11643-1999 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdInfo:
    number: str
    birth_date: dt.date
    gender: str  # "M" or "F"


def parse_id_number(value: object) -> IdInfo:
    """Validate a 18-character 身份证号 (GB 11643) and return it normalised with its birth date and gender.

    Raises ValidationError with a Chinese reason.
    """
    number = normalise_compact(value).upper()
    if not number:
        raise ValidationError("身份证号为空")
    if len(number) != 18:
        raise ValidationError(f"身份证号应为18位，实际{len(number)}位")
    if not _ID_RE.match(number):
        raise ValidationError("身份证号格式不正确（前17位为数字，末位为数字或X）")
    try:
        birth = dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError("身份证号中的出生日期不存在") from None
    if birth.year < 1900 or birth > dt.date.today():
        raise ValidationError("身份证号中的出生日期不合理")
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError("身份证号校验位错误")
    gender = "M" if int(number[16]) % 2 == 1 else "F"
    return IdInfo(number=number, birth_date=birth, gender=gender)


def make_id_number(region: str, birth: dt.date, seq: int, gender: str) -> str:
    """Build a valid ID number (for the demo and tests): 6-digit region, birth date, 3-digit sequence of the gender's parity."""
    order = (seq % 499) * 2 + (1 if gender == "M" else 2)
    first17 = f"{region}{birth:%Y%m%d}{order:03d}"
    return first17 + id_check_char(first17)


def parse_phone(value: object) -> str:
    """A mainland mobile (11 digits) or landline (0xxx-xxxxxxx). Empty stays empty. Raises ValidationError."""
    phone = normalise_compact(value)
    if phone.startswith("+86"):
        phone = phone[3:]
    if not phone:
        return ""
    if _MOBILE_RE.match(phone) or _LANDLINE_RE.match(phone):
        return phone
    raise ValidationError("手机号格式不正确")


_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$", re.ASCII),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$", re.ASCII),
)


def parse_date(value: object) -> dt.date | None:
    """A date from a roster cell: a date, an Excel serial number, or text like 2020-1-5, 2020/01/05, 2020年1月5日, 20200105.

    Empty gives None. Raises ValidationError for anything else.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValidationError(f"无法识别的日期：{value}")
        serial = int(value)
        if 1 <= serial <= 2958465 and serial == value:
            return EXCEL_EPOCH + dt.timedelta(days=serial)
        raise ValidationError(f"无法识别的日期：{value}")
    text = normalise_compact(value)
    if not text:
        return None
    if text.endswith(" 00:00:00") or text.endswith("00:00:00"):
        text = text.replace("00:00:00", "")
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise ValidationError(f"日期不存在：{text}") from None
    if text.isascii() and text.isdigit() and len(text) <= 6:
        return parse_date(int(text))
    raise ValidationError(f"无法识别的日期：{text}")


def mask_id_number(number: str) -> str:
    """330424********1234 — region code and last four kept."""
    if not number:
        return ""
    if len(number) < 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str) -> str:
    """138****5678 — first three and last four kept."""
    if not phone:
        return ""
    if len(phone) < 8:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February becomes 1 March in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return dt.date(day.year + years, 3, 1)
