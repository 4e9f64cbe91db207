"""iCalendar (RFC 5545) feeds written by hand: CRLF line ends, text escaping, lines folded at 75 octets without
splitting a UTF-8 character. Times are written in UTC ("Z"), which every calendar program converts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .models import Activity

PRODID = "-//Xianfeng//Events//ZH"
FOLD_AT = 75  # octets per line, CRLF excluded


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, newline."""
    return (str(text).replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets, continuation lines starting with one space."""
    pieces: list[str] = []
    current = ""
    size = 0
    limit = FOLD_AT
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            pieces.append(current)
            current, size, limit = ch, n, FOLD_AT - 1  # the leading space takes one octet
        else:
            current += ch
            size += n
    pieces.append(current)
    return "\r\n ".join(pieces)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(name: str, activities: Iterable[Activity], *, host: str, now: dt.datetime) -> str:
    """A VCALENDAR with one VEVENT per activity (cancelled ones marked CANCELLED so subscribers drop them)."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN", "METHOD:PUBLISH",
             f"X-WR-CALNAME:{escape(name)}", "X-WR-TIMEZONE:Asia/Shanghai"]
    stamp = _utc(now)
    for a in activities:
        description = "\n".join(part for part in (
            f"{a.get_kind_display()} · {a.org.name}", f"主讲人：{a.lecturer}" if a.lecturer else "",
            f"主题：{a.topic}" if a.topic else "", a.description) if part)
        lines += [
            "BEGIN:VEVENT",
            f"UID:activity-{a.pk}@{host}",
            f"DTSTAMP:{stamp}",
            f"DTSTART:{_utc(a.starts_at)}",
            f"DTEND:{_utc(a.ends_at)}",
            f"SUMMARY:{escape(a.title)}",
        ]
        if a.place:
            lines.append(f"LOCATION:{escape(a.place)}")
        lines += [f"DESCRIPTION:{escape(description)}",
                  f"STATUS:{'CANCELLED' if a.status == Activity.Status.CANCELLED else 'CONFIRMED'}",
                  f"URL:https://{host}/events/{a.pk}/", "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
