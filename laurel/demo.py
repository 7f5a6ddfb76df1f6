"""Demo data: two organizations, their people, courses and a ledger with credits in every
state, loaded through the services (so the audit trail is real) and deterministic (a fixed
random seed and dates counted from a fixed anchor, not from today).

``load()`` is idempotent: it does nothing when the demo organization exists already.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from laurel.accounts.models import Organization, Role, User
from laurel.accounts.services import membership_add, organization_create
from laurel.audit.services import Actor
from laurel.catalog.demo import load as demo_providers
from laurel.catalog.models import Course
from laurel.catalog.services import course_create, course_id_allocate, credit_type_create
from laurel.certificates.demo import load as demo_certificates
from laurel.credits.models import Credit, Dashboard
from laurel.credits.services import (
    CreditEntry,
    DuplicateCredit,
    Requirements,
    claims_deliver_for_email,
    credit_accept,
    credit_enter,
    credit_reject,
    credit_revoke,
    credit_void,
    dashboard_create,
)
from laurel.events.demo import load as demo_events
from laurel.integrations.models import WebhookEndpoint
from laurel.integrations.services import endpoint_create
from laurel.notifications.bounces import BounceReport
from laurel.notifications.services import bounce_record
from laurel.programs.demo import load as demo_programs
from laurel.recognition.demo import DEMO_LOGINS as RECOGNITION_LOGINS
from laurel.recognition.demo import load as demo_recognition

SEED = 2026
ANCHOR = date(2026, 6, 30)  # the "today" of the story; completion dates count back from it
COURSE_YEAR = 2026
ACTIVE_FROM = date(2024, 1, 1)

NORTHWIND_STAFF = [
    ("admin@northwind.example", "Avery Northwind", Role.ADMIN),
    ("reviewer@northwind.example", "Riley Chen", Role.REVIEWER),
    ("staff@northwind.example", "Sam Okafor", Role.STAFF),
    ("certificates@northwind.example", "Casey Morgan", Role.CERT_MANAGER),
]
LAKESIDE_ADMIN = ("admin@lakeside.example", "Lee Lakeside")
DEMO_HOLDER = ("nurse@example.com", "Nora Nurse")

CREDIT_TYPES = [
    ("CE", "Contact hours", "contact hours"),
    ("ETH", "Ethics hours", "ethics hours"),
    ("PHARM", "Pharmacology hours", "pharmacology hours"),
]

NORTHWIND_COURSES = [
    ("Sepsis Recognition and Early Management", {"CE": "2"}),
    ("Ethics in End-of-Life Care", {"ETH": "1.5", "CE": "0.5"}),
    ("Pharmacology Update: Anticoagulant Therapy", {"PHARM": "2", "CE": "1"}),
    ("Pain Management and Opioid Stewardship", {"PHARM": "1.5", "CE": "1.5", "ETH": "0.5"}),
    ("Wound Care Fundamentals", {"CE": "3"}),
    ("Cultural Humility in Patient Care", {"CE": "1", "ETH": "1"}),
    ("Pediatric Medication Safety", {"PHARM": "2"}),
    ("Diabetes Management: Insulin Therapy", {"PHARM": "1", "CE": "2"}),
    ("Preventing Falls in Acute Care", {"CE": "1.5"}),
    ("Documentation and Legal Responsibilities in Nursing", {"ETH": "2"}),
    ("Mental Health First Aid for Nurses", {"CE": "4"}),
    ("Infection Prevention and Control", {"CE": "2", "ETH": "0.5"}),
]
LAKESIDE_COURSES = [
    ("Basic Life Support Renewal", {"CE": "4"}),
    ("Safe Patient Handling", {"CE": "2"}),
]

FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Noah",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Mateo",
    "Amelia",
    "Ethan",
    "Harper",
    "Aiden",
    "Evelyn",
    "Jamal",
    "Abigail",
    "Priya",
    "Ella",
    "Kenji",
    "Grace",
    "Diego",
    "Chloe",
    "Omar",
    "Zoe",
    "Wei",
    "Hannah",
    "Tomas",
    "Layla",
    "Samuel",
    "Nadia",
    "Daniel",
    "Fatima",
    "Marcus",
    "Leah",
    "Andre",
    "Rosa",
    "Tyler",
]
LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
]

HOLDERS = 180  # people with an account (they can log in with the demo password)
UNCLAIMED = 60  # addresses nobody has verified yet: their credits are held
# A quarter of the unclaimed verify their address after the credits were entered.


@dataclass
class Summary:
    loaded: bool
    organizations: int = 0
    users: int = 0
    courses: int = 0
    credits: dict[str, int] = field(default_factory=dict)


class DemoRefused(Exception):
    pass


def is_loaded() -> bool:
    return Organization.objects.filter(slug="northwind").exists()


def load(*, holders: int = HOLDERS, unclaimed: int = UNCLAIMED) -> Summary:
    """Load the demo data unless it is there already; refuse in production.

    ``holders`` and ``unclaimed`` scale the crowd (tests load a smaller one)."""
    if settings.LAUREL_ENV == "production":
        raise DemoRefused("Demo data is never loaded when LAUREL_ENV=production.")
    if is_loaded():
        return Summary(loaded=False)
    with transaction.atomic():
        _Loader(random.Random(SEED), holders=holders, unclaimed=unclaimed).run()
    return Summary(
        loaded=True,
        organizations=Organization.objects.count(),
        users=User.objects.count(),
        courses=Course.objects.count(),
        credits={
            status: Credit.objects.filter(status=status).count() for status in Credit.Status.values
        },
    )


class _Loader:
    def __init__(self, rng: random.Random, *, holders: int, unclaimed: int):
        self.rng = rng
        self.holder_count, self.unclaimed_count = holders, unclaimed
        self.anchor = min(ANCHOR, Organization(time_zone="America/New_York").today())
        # Hashing once keeps loading fast: every demo account shares the one demo password.
        self.password = make_password(settings.LAUREL_DEMO_PASSWORD)

    # --- people ---------------------------------------------------------------------------
    def users(self, people: list[tuple[str, str]]) -> list[User]:
        User.objects.bulk_create(
            User(email=email, full_name=name, password=self.password) for email, name in people
        )
        users = list(User.objects.filter(email__in=[e for e, _ in people]).order_by("pk"))
        EmailAddress.objects.bulk_create(
            EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users
        )
        return users

    def names(self, count: int, domain: str, start: int = 1) -> list[tuple[str, str]]:
        out = []
        for n in range(start, start + count):
            first, last = self.rng.choice(FIRST), self.rng.choice(LAST)
            out.append((f"{first}.{last}{n}@{domain}".lower(), f"{first} {last}"))
        return out

    # --- organizations --------------------------------------------------------------------
    def organization(self, *, name, slug, prefix, tz, date_format, admin, courses):
        actor = Actor.system("demo")
        org = organization_create(
            actor=actor,
            name=name,
            slug=slug,
            course_id_prefix=prefix,
            time_zone=tz,
            date_format=date_format,
            first_admin=admin,
        )
        by_admin = Actor(user=admin)
        types = {
            code: credit_type_create(
                actor=by_admin, organization=org, code=code, name=label, unit=unit
            )
            for code, label, unit in CREDIT_TYPES
        }
        made = []
        for title, components in courses:
            made.append(
                course_create(
                    actor=by_admin,
                    organization=org,
                    title=title,
                    active_from=ACTIVE_FROM,
                    course_id=course_id_allocate(organization=org, year=COURSE_YEAR),
                    components={types[c]: Decimal(a) for c, a in components.items()},
                )
            )
        # Components prefetched once: entering hundreds of credits reads them from memory.
        made = list(
            Course.objects.filter(pk__in=[c.pk for c in made])
            .select_related("organization")
            .prefetch_related("components__credit_type")
            .order_by("course_id")
        )
        return org, made, by_admin

    def completion_date(self) -> date:
        return self.anchor - timedelta(days=self.rng.randint(1, 880))

    def enter(self, org, actor, course, email, name="", when=None) -> Credit | None:
        entry = CreditEntry(
            course=course, email=email, name=name, completion_date=when or self.completion_date()
        )
        try:
            return credit_enter(actor=actor, organization=org, entry=entry, notify=False)
        except DuplicateCredit:
            return None

    # --- the story ------------------------------------------------------------------------
    def run(self) -> None:
        staff = self.users([(e, n) for e, n, _ in NORTHWIND_STAFF])
        admin = staff[0]
        nnw, courses, by_admin = self.organization(
            name="Northwind Nursing Association",
            slug="northwind",
            prefix="NNA",
            tz="America/New_York",
            date_format=Organization.DateFormat.US,
            admin=admin,
            courses=NORTHWIND_COURSES,
        )
        for user, (_, _, role) in zip(staff[1:], NORTHWIND_STAFF[1:], strict=True):
            membership_add(actor=by_admin, organization=nnw, user=user, role=role)

        (lk_admin,) = self.users([LAKESIDE_ADMIN])
        lks, lk_courses, by_lk_admin = self.organization(
            name="Lakeside Health Education",
            slug="lakeside",
            prefix="LKS",
            tz="America/Chicago",
            date_format=Organization.DateFormat.ISO,
            admin=lk_admin,
            courses=LAKESIDE_COURSES,
        )

        holders = self.users([DEMO_HOLDER, *self.names(self.holder_count - 1, "example.com")])
        unclaimed = self.names(self.unclaimed_count, "example.org", start=self.holder_count + 1)

        hook = endpoint_create(
            actor=by_admin,
            organization=nnw,
            url="https://members.northwind.invalid/laurel-webhooks",
            description="Member database (demo: points nowhere)",
            event_types=["credit.accepted", "credit.revoked", "certificate.issued"],
        )
        self.nurse_story(holders[0], nnw, courses, by_admin, lks, lk_courses, by_lk_admin)
        for holder in holders[1:]:
            self.holder_story(holder, nnw, courses, by_admin)
        self.unclaimed_story(unclaimed, nnw, courses, by_admin)
        for holder in holders[1:25]:
            course = self.rng.choice(lk_courses)
            self.answer(holder, self.enter(lks, by_lk_admin, course, holder.email))
        for org in (nnw, lks):
            demo_certificates(org)
        demo_providers(nnw, reviewer=staff[1], admin=admin)
        demo_recognition(self)
        demo_programs(nnw, emails=[h.email for h in holders], courses=courses, anchor=ANCHOR)
        demo_events(
            nnw,
            # Not the demo nurse: her locker's story (three credits to answer) stays as told.
            emails=[h.email for h in holders[1:]] + [e for e, _ in unclaimed],
            names={h.email: h.full_name for h in holders[1:]} | dict(unclaimed),
            credit_types={t.code: t for t in nnw.credit_types.filter(code__in=["CE", "ETH"])},
        )
        self.webhook_story(hook)

    def webhook_story(self, endpoint) -> None:
        """The endpoint points nowhere: its first delivery is tried on the real retry
        schedule over the last three days until the endpoint is disabled, so the log shows
        every try and the endpoint page its reason."""
        from laurel.integrations.models import WebhookDelivery, WebhookMessage
        from laurel.integrations.services import webhooks_dispatch
        from laurel.notifications.models import OutboxMessage

        start = timezone.now() - timedelta(hours=73)
        queued = WebhookDelivery.objects.filter(endpoint=endpoint)
        WebhookMessage.objects.filter(pk__in=queued.values("message_id")).update(created_at=start)
        queued.update(created_at=start, next_attempt_at=start)
        now = start
        while WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).exists():
            webhooks_dispatch(now=now)
            head = queued.filter(status="pending").order_by("id").first()
            now = max(head.next_attempt_at, now + timedelta(seconds=1))
        # Loading demo data sends no mail (the admins' notice would go to demo addresses).
        OutboxMessage.objects.filter(kind="webhook_disabled").delete()

    def nurse_story(self, nurse, nnw, courses, by_admin, lks, lk_courses, by_lk_admin):
        """The demo holder: a license dashboard with requirements, credits to answer."""
        license_board = dashboard_create(
            holder=nurse,
            name="Ohio RN license 2025–27",
            requirements=Requirements(
                required_total=Decimal(24),
                window_start=date(2025, 7, 1),
                window_end=date(2027, 6, 30),
                minimums=(("ETH", Decimal(3)), ("PHARM", Decimal(2))),
            ),
        )
        other = dashboard_create(holder=nurse, name="Other learning")
        for i, course in enumerate(courses[:6]):
            when = date(2025, 8, 4) + timedelta(days=45 * i)
            credit = self.enter(nnw, by_admin, course, nurse.email, nurse.full_name, when)
            credit_accept(credit=credit, holder=nurse, dashboard=license_board, notify=False)
        old = self.enter(nnw, by_admin, courses[8], nurse.email, nurse.full_name, date(2024, 5, 20))
        credit_accept(credit=old, holder=nurse, dashboard=other, notify=False)
        dup = self.enter(nnw, by_admin, courses[10], nurse.email, nurse.full_name, date(2026, 2, 9))
        credit_reject(credit=dup, holder=nurse, reason="Entered by mistake; I took it in 2025.")
        for course, when in ((courses[6], date(2026, 4, 14)), (courses[9], date(2026, 5, 27))):
            self.enter(nnw, by_admin, course, nurse.email, nurse.full_name, when)  # to answer
        self.enter(lks, by_lk_admin, lk_courses[0], nurse.email, nurse.full_name, date(2026, 3, 2))

    def holder_story(self, holder, org, courses, actor):
        dashboards = []
        for _ in range(self.rng.randint(1, 5)):
            course = self.rng.choice(courses)
            credit = self.enter(org, actor, course, holder.email, holder.full_name)
            if credit is None:
                continue
            roll = self.rng.random()
            if roll < 0.55:
                if not dashboards:
                    dashboards.append(self.dashboard(holder))
                credit_accept(credit=credit, holder=holder, dashboard=dashboards[0], notify=False)
            elif roll < 0.67:
                credit_reject(credit=credit, holder=holder, reason="Not my course.")
            elif roll < 0.71:
                credit_void(actor=actor, credit=credit, reason="Sent to a wrong address")
            # otherwise: left offered, waiting for the holder's answer

    def dashboard(self, holder) -> Dashboard:
        if self.rng.random() < 0.5:
            return dashboard_create(
                holder=holder,
                name="RN license renewal 2025–27",
                requirements=Requirements(
                    required_total=Decimal(self.rng.choice([20, 24, 30])),
                    window_start=date(2025, 1, 1),
                    window_end=date(2027, 12, 31),
                    minimums=(("ETH", Decimal(2)),) if self.rng.random() < 0.5 else (),
                ),
            )
        return dashboard_create(holder=holder, name="Continuing education")

    def answer(self, holder, credit) -> None:
        if credit is not None and self.rng.random() < 0.6:
            board = holder.dashboards.first() or dashboard_create(holder=holder, name="Other")
            credit_accept(credit=credit, holder=holder, dashboard=board, notify=False)

    def unclaimed_story(self, people, org, courses, actor):
        entered = 0
        for email, name in people:
            for _ in range(self.rng.randint(1, 2)):
                credit = self.enter(org, actor, self.rng.choice(courses), email, name)
                if credit is None:
                    continue
                entered += 1
                # By count, not by chance, so even a small demo has every state.
                if entered % 12 == 1:
                    credit_void(actor=actor, credit=credit, reason="Sent to a wrong address")
                elif entered % 12 in (4, 8):
                    # Only held credits are revoked here: revoking a delivered one e-mails its
                    # holder, and loading demo data sends no mail.
                    credit_revoke(actor=actor, credit=credit, reason="Course completion withdrawn.")
        # The last of them mistyped their address: it bounced ("Undeliverable" in the ledger,
        # "enter again with a corrected address" on the credit page).
        bounce_record(
            report=BounceReport(
                people[-1][0], "hard", "550 5.1.1 Recipient address rejected: User unknown"
            ),
            source="file",
        )
        # Some of them sign up later: verifying the address offers what was held for them.
        late = self.users(people[: max(1, len(people) // 4)])
        for user in late:
            claims_deliver_for_email(user=user, email=user.email)


DEMO_LOGINS = [
    *(f"{email} ({role.label.lower()}, Northwind)" for email, _, role in NORTHWIND_STAFF),
    f"{LAKESIDE_ADMIN[0]} (admin, Lakeside)",
    f"{DEMO_HOLDER[0]} (a holder with a credit locker)",
    *RECOGNITION_LOGINS,
]
