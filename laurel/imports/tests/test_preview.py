"""The preview sorts rows the way admins think, before anything changes."""

from __future__ import annotations

from datetime import date, timedelta

from laurel.accounts.models import Connection
from laurel.credits.models import Credit
from laurel.imports.models import ImportJob, ImportRow
from tests.factories import enter_credit, make_course

from .conftest import upload

C = ImportRow.Category
HEAD = "Course ID,Email,Date Completed,Amount earned,Credit type\n"


def categories(job):
    return dict(ImportRow.objects.filter(job=job).values_list("number", "category"))


def test_each_row_lands_in_the_group_an_admin_expects(org, courses, outsider, validated):
    one, two = courses
    other = make_course(outsider.memberships.first().organization)
    late = make_course(org, active_from=date(2024, 1, 1), active_until=date(2024, 6, 30))
    Connection.objects.create(organization=org, email="known@example.org", status="connected")
    enter_credit(org, one, "old@example.org", completion_date=date(2025, 1, 5))
    tomorrow = (org.today() + timedelta(days=1)).isoformat()
    job = validated(
        org,
        HEAD
        + f"{one.course_id},known@example.org,2025-02-01,,\n"  # 2 deliverable
        + f"{one.course_id},new@example.org,2025-02-01,,\n"  # 3 invite
        + "NNA-26-99999,new@example.org,2025-02-01,,\n"  # 4 unknown
        + f"{other.course_id},new@example.org,2025-02-01,,\n"  # 5 another org's
        + f"{late.course_id},new@example.org,2025-02-01,,\n"  # 6 outside window
        + f"{one.course_id},not-an-email,2025-02-01,,\n"  # 7 invalid e-mail
        + f"{one.course_id},x@example.org,{tomorrow},,\n"  # 8 future date
        + f"{one.course_id},NEW@example.org,2025-02-01,,\n"  # 9 repeat of row 3
        + f"{one.course_id},old@example.org,2025-01-05,,\n"  # 10 already in the ledger
        + f"{one.course_id},y@example.org,2025-02-01,5,\n"  # 11 more than the course grants
        + f"{two.course_id},z@example.org,2025-02-01,0.5,ETH\n"  # 12 partial credit: fine
        + f"{two.course_id},z@example.org,2025-02-02,1,CLE\n",  # 13 type the course lacks
    )
    assert categories(job) == {
        2: C.DELIVERABLE,
        3: C.INVITE,
        4: C.UNKNOWN_COURSE,
        5: C.UNKNOWN_COURSE,
        6: C.UNKNOWN_COURSE,
        7: C.INVALID,
        8: C.INVALID,
        9: C.DUPLICATE_IN_FILE,
        10: C.DUPLICATE_EXISTING,
        11: C.INVALID,
        12: C.INVITE,
        13: C.INVALID,
    }
    reasons = dict(ImportRow.objects.filter(job=job).values_list("number", "reason"))
    assert "No course NNA-26-99999" in reasons[4]
    assert "another organization" in reasons[5]
    assert "until 2024-06-30" in reasons[6]
    assert "future" in reasons[8]
    assert reasons[9] == "Same credit as row 3."
    invalid = ImportRow.objects.get(job=job, number=7)
    assert (invalid.column, invalid.value) == ("Email", "not-an-email")
    assert job.counts == {
        "rows": 12,
        "deliverable": 1,
        "invite": 2,
        "unknown_course": 3,
        "invalid": 4,
        "duplicate_in_file": 1,
        "duplicate_existing": 1,
        "undeliverable": 0,
        "excluded": 0,
    }
    assert Credit.objects.count() == 1  # the preview changed nothing


def test_uploading_the_same_file_again_points_to_the_earlier_import(org, courses, validated):
    content = HEAD + "NNA-26-00001,a@example.org,2025-02-01,,\n"
    first = validated(org, content, "one.csv")
    again, earlier = upload(org, content, "renamed.csv")
    assert earlier is True
    assert again.pk == first.pk
    assert ImportJob.objects.count() == 1


def test_a_file_name_is_never_used_as_a_path(org, courses, validated):
    job = validated(org, HEAD + "NNA-26-00001,a@example.org,2025-02-01,,\n", "../../etc/passwd")
    assert job.file_name == "../../etc/passwd"
    assert "passwd" not in job.file.name
    assert ".." not in job.file.name


def test_an_address_that_bounced_is_its_own_group_and_is_not_committed(org, courses, validated):
    from laurel.notifications.bounces import BounceReport
    from laurel.notifications.services import bounce_record

    one, _ = courses
    bounce_record(
        report=BounceReport("typo@exmaple.com", "hard", "550 5.1.1 User unknown"), source="file"
    )
    bounce_record(report=BounceReport("grumpy@example.org", "complaint", "ARF"), source="file")
    job = validated(
        org,
        HEAD
        + f"{one.course_id},typo@exmaple.com,2025-02-01,,\n"
        + f"{one.course_id},grumpy@example.org,2025-02-01,,\n",
    )
    assert categories(job) == {2: C.UNDELIVERABLE, 3: C.INVITE}
    row = ImportRow.objects.get(job=job, number=2)
    assert not row.included
    assert "550 5.1.1 User unknown" in row.reason
    assert job.counts["undeliverable"] == 1
