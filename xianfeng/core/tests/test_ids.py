"""Properties of the roster validators in xianfeng.core.ids: valid input round-trips, anything else is rejected
with a reason or normalised, and nothing ever raises anything but ValidationError."""

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from xianfeng.core.ids import (
    EXCEL_EPOCH,
    add_years,
    id_check_char,
    make_id_number,
    mask_id_number,
    mask_phone,
    normalise_compact,
    normalise_text,
    parse_date,
    parse_id_number,
    parse_phone,
)

# No per-example deadline: the machine running the suite may be busy, and these are properties, not timings.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

TODAY = dt.date.today()
STORED_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # what the database's CHECK constraint accepts

regions = st.integers(100000, 999999).map(str)
births = st.dates(min_value=dt.date(1900, 1, 1), max_value=TODAY)
genders = st.sampled_from("MF")
sequences = st.integers(0, 10_000)
valid_ids = st.builds(make_id_number, regions, births, sequences, genders)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def outcome(fn, value):
    """fn(value), or the ValidationError's messages; any other exception fails the test."""
    try:
        return fn(value)
    except ValidationError as exc:
        assert exc.messages and all(isinstance(m, str) and m for m in exc.messages)
        return exc


# ------------------------------------------------------------------------------------------------ ID numbers


@relaxed
@given(regions, births, sequences, genders)
def test_valid_id_numbers_round_trip(region, birth, seq, gender):
    number = make_id_number(region, birth, seq, gender)

    info = parse_id_number(number)

    assert (info.number, info.birth_date, info.gender) == (number, birth, gender)
    assert STORED_SHAPE.match(info.number)


@relaxed
@given(valid_ids, st.data())
def test_typing_variants_normalise_to_the_same_number(number, data):
    typed = number.lower()
    if data.draw(st.booleans(), label="full width"):
        typed = full_width(typed)
    cut = data.draw(st.integers(0, 18), label="space at")
    typed = typed[:cut] + data.draw(st.sampled_from([" ", "\u3000", "\t", "  "]), label="space") + typed[cut:]

    assert parse_id_number(f" {typed} ").number == number


@relaxed
@given(st.text(alphabet="0123456789X", min_size=0, max_size=30).filter(lambda s: len(s) != 18))
def test_wrong_length_is_rejected(text):
    with pytest.raises(ValidationError):
        parse_id_number(text)


@relaxed
@given(valid_ids, st.sampled_from("0123456789X"))
def test_wrong_check_character_is_rejected(number, other):
    if other == number[17]:
        return
    with pytest.raises(ValidationError, match="校验位"):
        parse_id_number(number[:17] + other)


@relaxed
@given(regions, st.integers(1900, 2020), st.integers(0, 99), st.integers(0, 99), st.integers(100, 999))
def test_impossible_birth_dates_are_rejected(region, year, month, day, order):
    try:
        dt.date(year, month, day)
        return  # a real date: not this test's business
    except ValueError:
        pass
    first17 = f"{region}{year:04d}{month:02d}{day:02d}{order:03d}"
    with pytest.raises(ValidationError, match="出生日期"):
        parse_id_number(first17 + id_check_char(first17))


@relaxed
@given(regions, st.dates(min_value=TODAY + dt.timedelta(days=1), max_value=dt.date(2999, 12, 31)), genders)
def test_birth_dates_in_the_future_are_rejected(region, birth, gender):
    with pytest.raises(ValidationError, match="出生日期"):
        parse_id_number(make_id_number(region, birth, 1, gender))


@relaxed
@given(st.one_of(st.text(), st.integers(), st.floats(), st.none(), st.binary(), st.booleans()))
def test_any_input_is_rejected_or_accepted_never_crashes(value):
    result = outcome(parse_id_number, value)
    assert isinstance(result, ValidationError) or len(result.number) == 18


@relaxed
@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=16, max_size=16))
@example("٣٠٤٢٤١٩٨٠٠٥١٧٠٠٧")
def test_accepted_id_numbers_fit_the_database(middle):
    first17 = "3" + middle
    number = first17 + id_check_char(first17) if all(c.isdigit() for c in first17) else first17 + "0"
    result = outcome(parse_id_number, number)
    assert isinstance(result, ValidationError) or STORED_SHAPE.match(result.number)


# ------------------------------------------------------------------------------------------------ dates


def written_forms(day: dt.date) -> list:
    y, m, d = day.year, day.month, day.day
    forms = [
        day, dt.datetime(y, m, d), dt.datetime(y, m, d, 0, 0),
        f"{day:%Y-%m-%d}", f"{y}-{m}-{d}", f"{y}/{m}/{d}", f"{day:%Y/%m/%d}", f"{y}.{m}.{d}", f"{day:%Y%m%d}",
        f"{y}年{m}月{d}日", f"{y}年{m}月{d}", f" {y} - {m:02d} - {d:02d} ", f"{day:%Y-%m-%d} 00:00:00",
    ]
    forms += [full_width(f) for f in forms if isinstance(f, str)]
    if day >= dt.date(1900, 3, 1):  # Excel's serial numbers are right from March 1900 (its 1900 leap-year bug)
        serial = (day - EXCEL_EPOCH).days
        forms += [serial, float(serial)]
        if serial < 1_000_000:
            forms += [str(serial), full_width(str(serial))]
    return forms


@relaxed
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_dates_in_every_accepted_form(day):
    for form in written_forms(day):
        assert parse_date(form) == day, form


def test_excel_serial_numbers_match_excel():
    assert parse_date(1) == dt.date(1899, 12, 31)
    assert parse_date(61) == dt.date(1900, 3, 1)
    assert parse_date(40360) == dt.date(2010, 7, 1)
    assert parse_date(45658) == dt.date(2025, 1, 1)
    assert parse_date("45658") == dt.date(2025, 1, 1)


@pytest.mark.parametrize("empty", [None, "", "   ", "\u3000"])
def test_empty_dates_are_none(empty):
    assert parse_date(empty) is None


@pytest.mark.parametrize("bad", ["2010-02-30", "2010-13-01", "20101301", "昨天", "2010-07", "45000.5", 45000.5, 0, -3,
                                 True, "0", "2010-07-01 12:30:00", 3_000_000])
def test_impossible_or_unknown_dates_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_date(bad)


@relaxed
@given(st.one_of(st.text(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.none(),
                 st.booleans(), st.datetimes(), st.dates()))
def test_any_date_input_is_rejected_or_parsed_never_crashes(value):
    result = outcome(parse_date, value)
    assert result is None or isinstance(result, (dt.date, ValidationError))


@relaxed
@given(st.sampled_from([float("nan"), float("inf"), float("-inf")]))
@example(float("nan"))
def test_non_finite_numbers_are_not_dates(value):
    assert isinstance(outcome(parse_date, value), ValidationError)


# ------------------------------------------------------------------------------------------------ phones, text, masks


mobiles = st.builds(lambda second, rest: f"1{second}{rest:09d}", st.sampled_from("3456789"), st.integers(0, 10**9 - 1))


@relaxed
@given(mobiles, st.sampled_from(["", "+86", "+86 "]), st.booleans())
def test_mobile_numbers_round_trip(mobile, prefix, wide):
    typed = prefix + f"{mobile[:3]} {mobile[3:7]} {mobile[7:]}"
    assert parse_phone(full_width(typed) if wide else typed) == mobile


@pytest.mark.parametrize("phone, expected", [("0573-86123456", "0573-86123456"), ("057386123456", "057386123456"),
                                             ("", ""), (None, "")])
def test_landlines_and_empty_phones(phone, expected):
    assert parse_phone(phone) == expected


@pytest.mark.parametrize("bad", ["12345", "23800000000", "1380000000", "138000000000", "phone", "0573-123"])
def test_bad_phones_are_rejected(bad):
    with pytest.raises(ValidationError):
        parse_phone(bad)


@relaxed
@given(st.one_of(st.text(), st.integers(), st.floats(), st.none()))
def test_any_phone_input_is_rejected_or_accepted_never_crashes(value):
    result = outcome(parse_phone, value)
    assert isinstance(result, (str, ValidationError))


@relaxed
@given(st.text(alphabet=st.characters(categories=["Nd"]), min_size=9, max_size=9))
@example("٨٠٥٧٣٥٦٧٨")
def test_accepted_phones_are_ascii(rest):
    result = outcome(parse_phone, "13" + rest)
    assert isinstance(result, ValidationError) or result.isascii()


@relaxed
@given(st.text())
def test_normalise_text_is_idempotent_and_trimmed(text):
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert once == once.strip() and "  " not in once


@relaxed
@given(valid_ids)
def test_masked_id_keeps_region_and_last_four(number):
    masked = mask_id_number(number)
    assert masked == number[:6] + "*" * 8 + number[-4:]


@relaxed
@given(mobiles)
def test_masked_phone_keeps_first_three_and_last_four(mobile):
    assert mask_phone(mobile) == mobile[:3] + "****" + mobile[-4:]


def test_short_values_are_masked_entirely():
    assert mask_id_number("12345") == "*****" and mask_phone("12345") == "*****"
    assert mask_id_number("") == "" and mask_phone("") == ""


@relaxed
@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(9000, 12, 31)), st.integers(0, 100))
def test_add_years_is_the_same_day_or_the_first_of_march(day, years):
    later = add_years(day, years)
    if (day.month, day.day) == (2, 29) and later.month == 3:
        assert later == dt.date(day.year + years, 3, 1)
    else:
        assert (later.year, later.month, later.day) == (day.year + years, day.month, day.day)


def test_free_text_keeps_full_width_punctuation_and_drops_controls():
    assert normalise_text("冬季党课：学习…") == "冬季党课：学习…"
    assert normalise_text("  处理很快，谢谢网格员！\u3000\u200b") == "处理很快，谢谢网格员！"
    assert normalise_text("（第一期）\x00\x07《通知》") == "（第一期）《通知》"


def test_identifiers_still_fold_full_width():
    assert normalise_compact("ＡＢ １２３") == "AB123"
    assert parse_phone("１３８ ００１３ ８０００") == "13800138000"
