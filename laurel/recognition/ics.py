"""An iCalendar (RFC 5545) file for one ceremony; small enough to write by hand."""

from __future__ import annotations

from datetime import UTC, timedelta

from django.conf import settings
from django.utils import timezone

CEREMONY_LENGTH = timedelta(hours=2)


def _text(value: str) -> str:
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def _fold(line: str) -> str:
    # Lines longer than 75 octets continue on the next line after a space.
    out, data = [], line.encode()
    while len(data) > 75:
        cut = 75
        while (data[cut] & 0xC0) == 0x80:  # never split a UTF-8 character
            cut -= 1
        out.append(data[:cut].decode())
        data = b" " + data[cut:]
    out.append(data.decode())
    return "\r\n".join(out)


def ceremony_ics(ceremony) -> str:
    stamp = "%Y%m%dT%H%M%SZ"
    start = ceremony.starts_at.astimezone(UTC)
    where = ceremony.venue if ceremony.format == "in_person" else "Online"
    host = settings.SITE_URL.split("://", 1)[-1].split("/", 1)[0]
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Laurel//Recognition//EN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:ceremony-{ceremony.pk}@{host}",
        f"DTSTAMP:{timezone.now().astimezone(UTC):{stamp}}",
        f"DTSTART:{start:{stamp}}",
        f"DTEND:{start + CEREMONY_LENGTH:{stamp}}",
        f"SUMMARY:{_text(ceremony.name)}",
        f"LOCATION:{_text(where)}",
        f"DESCRIPTION:{_text(ceremony.partnership.partner.name + ' recognition ceremony')}",
        "STATUS:CONFIRMED" if ceremony.status != "draft" else "STATUS:TENTATIVE",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(_fold(line) for line in lines) + "\r\n"
