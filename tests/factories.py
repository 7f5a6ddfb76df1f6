"""Small factory functions for tests: a standing cast of people and organizations."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from allauth.account.models import EmailAddress

from laurel.accounts.models import Membership, Organization, Role, User
from laurel.audit.services import Actor
from laurel.catalog.models import Course, CourseComponent, CreditType
from laurel.credits.services import CreditEntry, credit_enter

_seq = itertools.count(1)
PASSWORD = "correct-horse-battery-staple"


def make_user(email: str | None = None, *, verified: bool = True, **extra) -> User:
    email = email or f"person{next(_seq)}@example.com"
    user = User.objects.create_user(email=email, password=PASSWORD, **extra)
    EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
    return user


def make_org(slug: str | None = None, **extra) -> Organization:
    n = next(_seq)
    slug = slug or f"org{n}"
    defaults = {"name": f"Org {slug}", "course_id_prefix": f"P{n}"[:8].upper()}
    defaults.update(extra)
    return Organization.objects.create(slug=slug, **defaults)


def make_member(org: Organization, role: str = Role.ADMIN, email: str | None = None) -> User:
    user = make_user(email)
    Membership.objects.create(organization=org, user=user, role=role)
    return user


def make_credit_type(org: Organization, code: str = "CE", unit: str = "hours") -> CreditType:
    ct, _ = CreditType.objects.get_or_create(
        organization=org, code=code, defaults={"name": code, "unit": unit}
    )
    return ct


def make_course(
    org: Organization,
    *,
    components: dict[str, str] | None = None,
    active_from: date = date(2024, 1, 1),
    active_until: date | None = None,
    title: str | None = None,
) -> Course:
    n = next(_seq)
    course = Course.objects.create(
        organization=org,
        course_id=f"{org.course_id_prefix}-26-{n:05d}",
        title=title or f"Course {n}",
        active_from=active_from,
        active_until=active_until,
    )
    for code, amount in (components or {"CE": "2"}).items():
        CourseComponent.objects.create(
            course=course, credit_type=make_credit_type(org, code), amount=Decimal(amount)
        )
    return course


def enter_credit(org, course, email, *, completion_date=date(2025, 3, 1), actor=None, **kw):
    return credit_enter(
        actor=actor or Actor.system("test"),
        organization=org,
        entry=CreditEntry(course=course, email=email, completion_date=completion_date, **kw),
    )


def png_bomb(width: int, height: int) -> bytes:
    """A tiny PNG that claims ``width`` × ``height`` pixels (a decompression bomb's header)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )
