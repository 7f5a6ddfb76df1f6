"""A standing cast for recognition tests: an issuing organization with two partners."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

from laurel.accounts.models import Organization, Role
from laurel.audit.services import Actor
from laurel.recognition.services import (
    ProgressRecord,
    cohort_create,
    partnership_create,
    progress_apply,
)
from tests.factories import make_member, make_org

SYSTEM = Actor.system("test")


def make_cohort(partnership, name="Cohort A", *, end=None, closes=None, lms="", **kw):
    end = end or date.today() + timedelta(days=10)
    return cohort_create(
        actor=SYSTEM,
        partnership=partnership,
        name=name,
        course_name=kw.pop("course_name", "Effective Teaching Practices"),
        start_date=end - timedelta(days=90),
        end_date=end,
        closes_on=closes or end,
        certificate_title=kw.pop(
            "certificate_title", "Certificate in Effective College Instruction"
        ),
        lms_course_id=lms,
        **kw,
    )


def make_cast(prefix: str = "") -> SimpleNamespace:
    issuer = make_org(f"{prefix}keystone", kind=Organization.Kind.ISSUING, name="Keystone")
    river = make_org(f"{prefix}rivercity", kind=Organization.Kind.PARTNER, name="River City")
    hill = make_org(f"{prefix}hillcrest", kind=Organization.Kind.PARTNER, name="Hillcrest")
    p_river = partnership_create(actor=SYSTEM, issuer=issuer, partner=river)
    p_hill = partnership_create(actor=SYSTEM, issuer=issuer, partner=hill)
    cast = SimpleNamespace(
        issuer=issuer,
        river=river,
        hill=hill,
        p_river=p_river,
        p_hill=p_hill,
        issuer_admin=make_member(issuer, Role.ADMIN, f"admin@{prefix}keystone.example"),
        issuer_staff=make_member(issuer, Role.STAFF, f"staff@{prefix}keystone.example"),
        river_admin=make_member(river, Role.ADMIN, f"admin@{prefix}rivercity.example"),
        hill_admin=make_member(hill, Role.ADMIN, f"admin@{prefix}hillcrest.example"),
    )
    cast.river_cohort = make_cohort(p_river, "River Spring", lms="1001")
    cast.hill_cohort = make_cohort(p_hill, "Hill Spring", lms="2001")
    return cast


def feed(issuer, cohort, rows):
    """rows: (email, percent, completed_on, certified[, name])."""
    return progress_apply(
        actor=SYSTEM,
        organization=issuer,
        records=[
            ProgressRecord(
                cohort=cohort.pk,
                email=r[0],
                percent=r[1],
                completed_on=r[2],
                certified=r[3],
                name=r[4] if len(r) > 4 else r[0].split("@")[0].title(),
            )
            for r in rows
        ],
    )


def make_recognition_world(org, slug: str) -> SimpleNamespace:
    """For tests/test_isolation.py: ``org`` (issuing) with two partners; the first has a
    cohort with a completer, a scheduled ceremony with a date, and a draft request."""
    from datetime import UTC, datetime

    from laurel.recognition.models import Ceremony, CourseTaker
    from laurel.recognition.services import ceremony_select

    partner = make_org(f"{slug}-partner", kind=Organization.Kind.PARTNER)
    other = make_org(f"{slug}-other", kind=Organization.Kind.PARTNER)
    partnership = partnership_create(actor=SYSTEM, issuer=org, partner=partner)
    partnership_create(actor=SYSTEM, issuer=org, partner=other)
    cohort = make_cohort(partnership, f"Cohort {slug}", lms=f"lms-{slug}")
    feed(org, cohort, [(f"taker@{slug}.example", 100, date.today(), True, "Tess Taker")])
    select = dict(
        actor=SYSTEM,
        organization=partner,
        range_start=cohort.end_date,
        range_end=cohort.end_date,
        cohort_ids=[cohort.pk],
    )
    ceremony = ceremony_select(kind=Ceremony.Kind.CEREMONY, name=f"Ceremony {slug}", **select)
    Ceremony.objects.filter(pk=ceremony.pk).update(
        status=Ceremony.Status.SCHEDULED,
        starts_at=datetime.now(UTC) + timedelta(days=30),
        time_zone="America/New_York",
        format=Ceremony.Format.ONLINE,
        mailing_contact="Pat",
        mailing_email=f"pat@{slug}.example",
        mailing_address="1 Main St",
    )
    ceremony.refresh_from_db()
    draft = ceremony_select(kind=Ceremony.Kind.REQUEST, name=f"Request {slug}", **select)
    return SimpleNamespace(
        partner=partner,
        other_partner=other,
        partner_admin=make_member(partner, Role.ADMIN, f"admin@{slug}-partner.example"),
        other_partner_admin=make_member(other, Role.ADMIN, f"admin@{slug}-other.example"),
        cohort=cohort,
        taker=CourseTaker.objects.get(cohort=cohort),
        ceremony=ceremony,
        draft=draft,
    )
