"""An event as an iCalendar file (RFC 5545), for the attendee's calendar."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone


def _escape(text: str) -> str:
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r", "")
        .replace("\n", "\\n")
    )  # fmt: skip


def _fold(line: str) -> str:
    """Lines longer than 75 octets continue on the next line after a space."""
    data = line.encode()
    if len(data) <= 75:
        return line
    parts, start = [], 0
    while start < len(data):
        size = 75 if start == 0 else 74
        end = min(start + size, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # not inside a character
            end -= 1
        parts.append(data[start:end].decode())
        start = end
    return "\r\n ".join(parts)


def ics_for(event) -> str:
    from datetime import UTC

    def utc(moment):
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    location = (
        event.join_url
        if event.format == "online"
        else ", ".join(part for part in (event.venue, " ".join(event.address.split())) if part)
    )
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Laurel//Events//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:event-{event.pk}@{settings.SITE_URL.split('//')[-1].split('/')[0]}",
        f"DTSTAMP:{utc(timezone.now())}",
        f"DTSTART:{utc(event.starts_at)}",
        f"DTEND:{utc(event.ends_at)}",
        f"SUMMARY:{_escape(event.title)}",
        f"DESCRIPTION:{_escape(event.description)}",
        f"LOCATION:{_escape(location)}",
        f"STATUS:{'CANCELLED' if event.is_cancelled else 'CONFIRMED'}",
    ]
    if event.format == "online" and event.join_url:
        lines.append(f"URL:{event.join_url}")
    lines += ["END:VEVENT", "END:VCALENDAR"]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
