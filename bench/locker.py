"""Benchmark the holder's bulk accept against accepting the same credits one by one.

    python bench/locker.py --db postgres --credits 2000
    python bench/locker.py --db sqlite --credits 500 --one-by-one 50   # scaled down

Creates its own database (PostgreSQL ``laurel_bench_locker``, or a temporary SQLite file), an
organization with 20 courses (certificates issued on acceptance, the default), a webhook
endpoint listening to credit events, and a holder with N + M offered credits. Times
``credit_accept_many`` on N credits (one set-based transaction per batch; their certificates
queued for the background), then the background task that signs those certificates, then
``credit_accept`` one by one on M other credits (each signing its certificate inline, the path
the locker used before) as the baseline. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import log, setup_database  # noqa: E402


def seed(total: int):
    """An organization, 20 courses, a webhook receiver and ``total`` credits offered to one
    verified holder (written in bulk: the bench times the answers, not the entry)."""
    from allauth.account.models import EmailAddress

    from laurel.accounts.models import Organization, User
    from laurel.catalog.models import Course, CourseComponent, CreditType
    from laurel.credits.models import Credit, CreditComponent
    from laurel.integrations.models import WebhookEndpoint

    org = Organization.objects.create(name="Bench", slug="bench", course_id_prefix="BEN")
    WebhookEndpoint.objects.create(
        organization=org,
        url="https://hooks.example.com/bench",
        event_types=["credit.accepted", "certificate.issued"],
    )
    ce = CreditType.objects.create(organization=org, code="CE", name="CE")
    courses = Course.objects.bulk_create(
        Course(organization=org, course_id=f"BEN-26-{i:03d}", title=f"Course {i}",
               active_from=dt.date(2024, 1, 1))
        for i in range(20)
    )  # fmt: skip
    CourseComponent.objects.bulk_create(
        CourseComponent(course=c, credit_type=ce, amount="1.5") for c in courses
    )
    holder = User.objects.create_user(email="holder@example.org", password=None)
    holder.full_name = "Hana Holder"
    holder.save()
    EmailAddress.objects.create(user=holder, email=holder.email, verified=True, primary=True)
    now = time.time()
    start = dt.date(2020, 1, 1)
    credits = Credit.objects.bulk_create(
        (
            Credit(
                organization=org,
                course=courses[n % 20],
                activity_key=f"course:{courses[n % 20].pk}",
                title=courses[n % 20].title,
                recipient_email=holder.email,
                recipient_name="Hana Holder",
                holder=holder,
                completion_date=start + dt.timedelta(days=n // 20),
                status=Credit.Status.OFFERED,
                source=Credit.Source.IMPORT,
            )
            for n in range(total)
        ),
        batch_size=2000,
    )
    CreditComponent.objects.bulk_create(
        (
            CreditComponent(credit=c, credit_type=ce, amount_offered=Decimal("1.5"),
                            amount_earned=Decimal("1.5"))
            for c in credits
        ),
        batch_size=2000,
    )  # fmt: skip
    log(f"seeded {total} offered credits in {time.time() - now:.1f} s")
    return org, holder, sorted(credits, key=lambda c: c.pk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--credits", type=int, default=2000, help="accepted in bulk")
    parser.add_argument("--one-by-one", type=int, default=200, help="accepted one by one")
    parser.add_argument(
        "--certificates",
        type=int,
        default=200,
        help="of the bulk's certificates, how many "
        "the background task signs while timed (each is ~25 ms of signing and rendering)",
    )
    args = parser.parse_args()

    sqlite_path = setup_database(args.db, "laurel_bench_locker")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "laurel.settings")
    os.environ["LAUREL_ENV"] = "local"
    os.environ.setdefault("LAUREL_DATA_DIR", tempfile.mkdtemp(prefix="laurel-bench-"))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    try:
        call_command("migrate", verbosity=0)
        from laurel.audit.services import Actor
        from laurel.certificates.models import Certificate
        from laurel.certificates.services import certificates_issue_for_credits, signing_key_for
        from laurel.credits import services
        from laurel.credits.models import Credit

        org, holder, credits = seed(args.credits + args.one_by_one)
        signing_key_for(org)  # made once per organization; not part of either path's cost
        bulk, single = credits[: args.credits], credits[args.credits :]
        inbox, other = (
            services.dashboard_create(holder=holder, name=n) for n in ("Ohio RN", "CPR")
        )

        started = time.perf_counter()
        with transaction.atomic():  # as the locker's view: one request
            accepted = services.credit_accept_many(credits=bulk, holder=holder, dashboard=inbox)
        bulk_s = time.perf_counter() - started
        log(f"bulk accept: {accepted.credits} in {bulk_s:.2f} s "
            f"({accepted.certificates_on_their_way} certificates on their way)")  # fmt: skip

        started = time.perf_counter()
        sample = [c.pk for c in bulk[: args.certificates]]
        issued = certificates_issue_for_credits(sample, actor=Actor(user=holder))
        certs_s = time.perf_counter() - started
        log(f"background certificates: {issued} in {certs_s:.2f} s")

        started = time.perf_counter()
        for credit in single:
            services.credit_accept(credit=credit, holder=holder, dashboard=other)
        single_s = time.perf_counter() - started
        log(f"one by one: {len(single)} in {single_s:.2f} s")

        started = time.perf_counter()
        moved = services.credit_move_many(
            credits=list(Credit.objects.filter(pk__in=[c.pk for c in bulk])),
            holder=holder,
            dashboard=other,
        )
        move_s = time.perf_counter() - started
        assert moved == len(bulk)
        assert issued == len(sample)
        assert Certificate.objects.filter(credit__in=single).count() == len(single)
    finally:
        if sqlite_path:
            os.unlink(sqlite_path)
    bulk_rate = len(bulk) / bulk_s
    single_rate = len(single) / single_s
    print(json.dumps({
        "db": args.db,
        "credits": len(bulk),
        "bulk_accept_per_s": round(bulk_rate, 1),
        "bulk_move_per_s": round(len(bulk) / move_s, 1),
        "background_certificates_per_s": round(issued / certs_s, 1),
        "one_by_one_credits": len(single),
        "one_by_one_accept_per_s": round(single_rate, 1),
        "ratio_vs_one_by_one": round(bulk_rate / single_rate, 1),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
