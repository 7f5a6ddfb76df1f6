"""Demo recognition data: Keystone Teaching Institute (issuing) with two partner
universities, 12 cohorts ending over six months, ~600 course-takers in every progress
state, ceremonies in all four statuses and two certificate requests. Called by
``laurel/demo.py``; sends no mail."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from laurel.accounts.models import Organization
from laurel.accounts.services import organization_create
from laurel.audit.services import Actor
from laurel.recognition.models import Ceremony
from laurel.recognition.services import (
    ProgressRecord,
    ceremony_select,
    cohort_create,
    partnership_create,
    progress_apply,
)

KEYSTONE_ADMIN = ("admin@keystone.example", "Kendall Stone")
PARTNER_ADMINS = {
    "rivercity": ("admin@rivercity.example", "Rae Rivers", "River City University"),
    "hillcrest": ("admin@hillcrest.example", "Hollis Crest", "Hillcrest College"),
}
CERTIFICATES = (
    "Certificate in Effective College Instruction",
    "Certificate in Effective Online Instruction",
)
TAKERS_PER_COHORT = 50


def season(n: int) -> str:
    return "Fall" if n < 6 else "Spring"


def load(loader) -> None:
    """``loader`` is ``laurel.demo._Loader`` (users, names and its seeded ``rng``)."""
    rng: random.Random = loader.rng
    actor = Actor.system("demo")
    (k_admin,) = loader.users([KEYSTONE_ADMIN])
    keystone = organization_create(
        actor=actor,
        name="Keystone Teaching Institute",
        slug="keystone",
        course_id_prefix="KTI",
        time_zone="America/New_York",
        first_admin=k_admin,
    )
    partners = []
    for slug, (email, name, org_name) in PARTNER_ADMINS.items():
        (user,) = loader.users([(email, name)])
        org = organization_create(
            actor=actor,
            name=org_name,
            slug=slug,
            course_id_prefix=slug[:3].upper() + "U",
            time_zone="America/Chicago" if slug == "hillcrest" else "America/New_York",
            first_admin=user,
        )
        Organization.objects.filter(pk=org.pk).update(kind=Organization.Kind.PARTNER)
        org.kind = Organization.Kind.PARTNER
        partners.append((partnership_create(actor=actor, issuer=keystone, partner=org), user))
    today = keystone.today()
    cohorts = []
    # 12 cohorts whose end dates run from three months ago to three months ahead.
    for n in range(12):
        partnership, _ = partners[n % 2]
        end = today + timedelta(days=-90 + n * 16)
        cohorts.append(
            cohort_create(
                actor=actor,
                partnership=partnership,
                name=f"{partnership.partner.name.split()[0]} {season(n)} {n + 1}",
                course_name="Effective Teaching Practices" if n % 3 else "Online Teaching",
                start_date=end - timedelta(days=120),
                end_date=end,
                closes_on=end + timedelta(days=14),
                certificate_title=CERTIFICATES[0] if n % 3 else CERTIFICATES[1],
                lms_course_id=str(5000 + n),
            )
        )
    records = []
    people = loader.names(TAKERS_PER_COHORT * len(cohorts), "faculty.example", start=90000)
    for i, (email, name) in enumerate(people):
        cohort = cohorts[i // TAKERS_PER_COHORT]
        ended = cohort.end_date <= today
        roll = i % 10  # by count, so every cohort has every state
        if roll < 5 or (ended and roll < 7):
            done = min(today, cohort.end_date - timedelta(days=rng.randint(0, 20)))
            certified = roll != 4  # completed without certification
            records.append(ProgressRecord(cohort.pk, email, 100, done, certified, name))
        else:
            records.append(ProgressRecord(cohort.pk, email, rng.randint(5, 95), None, False, name))
    progress_apply(actor=actor, organization=keystone, records=records)

    def ceremony(partner_index, cohort_slice, kind, status, days_ahead=None, name=""):
        partnership, user = partners[partner_index]
        chosen = [c for c in cohorts[cohort_slice] if c.partnership_id == partnership.pk]
        c = ceremony_select(
            actor=Actor(user=user),
            organization=partnership.partner,
            kind=kind,
            range_start=min(x.end_date for x in chosen),
            range_end=max(x.end_date for x in chosen),
            cohort_ids=[x.pk for x in chosen],
            name=name,
        )
        fields = {"status": status}
        if days_ahead is not None:
            day = today + timedelta(days=days_ahead)
            fields.update(
                starts_at=datetime.combine(day, time(18, 0), partnership.partner.tz).astimezone(
                    UTC
                ),
                time_zone=partnership.partner.time_zone,
                format=Ceremony.Format.IN_PERSON,
                venue="Faculty Commons",
                mailing_contact="Jordan Mailer",
                mailing_email=f"pins@{partnership.partner.slug}.example",
                mailing_address=f"1 College Ave\n{partnership.partner.name}",
                submitted_at=datetime.now(UTC),
            )
        if status == Ceremony.Status.PINS_MAILED:
            fields.update(tracking_number="1Z999AA10123456784", pins_mailed_at=datetime.now(UTC))
        # The statuses a demo needs (past ceremonies) cannot be reached through the 14-day
        # rule today, so they are set directly; no mail is sent.
        Ceremony.objects.filter(pk=c.pk).update(**fields)

    S, K = Ceremony.Status, Ceremony.Kind
    ceremony(0, slice(0, 4), K.CEREMONY, S.PINS_MAILED, -20, "River City winter pinning")  # Past
    ceremony(1, slice(0, 6), K.CEREMONY, S.PINS_MAILED, 30, "Hillcrest spring pinning")
    ceremony(0, slice(4, 8), K.CEREMONY, S.SCHEDULED, 40, "River City spring pinning")
    ceremony(1, slice(6, 12), K.CEREMONY, S.DRAFT, None, "Hillcrest summer pinning")
    ceremony(0, slice(0, 6), K.REQUEST, S.CREATED, None, "River City certificates, fall")
    ceremony(1, slice(6, 10), K.REQUEST, S.DRAFT, None, "Hillcrest certificates, spring")


DEMO_LOGINS = [
    f"{KEYSTONE_ADMIN[0]} (admin, Keystone Teaching Institute: issuing, sees all partners)",
    *(f"{email} (admin, {org}: partner)" for email, _, org in PARTNER_ADMINS.values()),
]
