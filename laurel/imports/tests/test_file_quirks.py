"""Files as people really produce them are read correctly, all the way to the credits."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import pytest

from laurel.credits.models import Credit
from laurel.imports.models import ImportJob, ImportRow

from .conftest import fixture_bytes

S = ImportJob.Status


@pytest.mark.parametrize(
    "name",
    [
        "utf8.csv",
        "utf8_bom.csv",
        "utf16_tab.txt",
        "cp1252_semicolon.csv",
        "tab.tsv",
        "crlf.csv",
        "messy.csv",
        "aliases.csv",
        "aliases_case.csv",
        "credits.xlsx",
    ],
)
def test_every_common_file_shape_delivers_both_credits_with_names_intact(
    name, org, courses, validated, commit
):
    job = validated(org, fixture_bytes(name), name)
    assert job.status == S.VALIDATED, job.error
    assert job.count("rows") == 2
    assert job.count("invite") == 2
    commit(job)
    credits = {c.recipient_email: c for c in Credit.objects.for_org(org)}
    assert set(credits) == {"ann@example.org", "zoe@example.org"}
    assert credits["zoe@example.org"].recipient_name == "Zoë Müller"
    assert credits["ann@example.org"].recipient_name == "Ann Lee"
    assert credits["ann@example.org"].completion_date == date(2025, 3, 1)
    assert credits["zoe@example.org"].completion_date == date(2025, 3, 2)


def test_row_numbers_match_the_spreadsheet_even_with_blank_lines_and_embedded_newlines(
    org, courses, validated
):
    job = validated(org, fixture_bytes("messy.csv"), "messy.csv")
    assert list(ImportRow.objects.filter(job=job).values_list("number", flat=True)) == [3, 6]
    assert ImportRow.objects.get(job=job, number=3).note == "first line\r\nsecond line"


def test_iso_us_month_name_and_excel_serial_dates_are_all_read(org, courses, validated):
    job = validated(org, fixture_bytes("dates.csv"), "dates.csv")
    assert job.count("invite") == 4, list(ImportRow.objects.filter(job=job).values("reason"))
    days = set(ImportRow.objects.filter(job=job).values_list("completion_date", flat=True))
    assert days == {date(2025, 3, 4)}


def test_ambiguous_dates_follow_the_organizations_date_format(org, courses, validated):
    org.date_format = "INTL"
    org.save()
    job = validated(org, "Course ID,Email,Date Completed\nNNA-26-00001,a@example.org,03/04/2025\n")
    assert ImportRow.objects.get(job=job).completion_date == date(2025, 4, 3)


def test_a_date_impossible_in_the_organizations_order_is_invalid_not_swapped(
    org, courses, validated
):
    job = validated(org, "Course ID,Email,Date Completed\nNNA-26-00001,a@example.org,13/04/2025\n")
    row = ImportRow.objects.get(job=job)
    assert row.category == ImportRow.Category.INVALID
    assert row.column == "Date Completed"
    assert row.value == "13/04/2025"
    assert "MM/DD/YYYY" in row.reason


def test_headings_that_dont_match_ask_for_a_mapping_which_can_be_saved_for_next_time(
    org, admin, courses, validated, committed
):
    from laurel.audit.services import Actor
    from laurel.imports import services

    job = validated(org, fixture_bytes("needs_mapping.csv"), "needs_mapping.csv")
    assert job.status == S.NEEDS_MAPPING
    assert job.headings == ["Kurs", "Teilnehmer", "Datum", "Name"]
    with committed():
        services.import_mapping_set(
            actor=Actor(user=admin),
            job=job,
            mapping={
                "Kurs": "course_id",
                "Teilnehmer": "email",
                "Datum": "completion_date",
                "Name": "name",
            },
            save=True,
        )
    job.refresh_from_db()
    assert job.status == S.VALIDATED
    assert job.count("invite") == 2
    # The next file with the same headings maps itself.
    again = validated(org, fixture_bytes("needs_mapping.csv").replace(b"Ann Lee", b"Ann L."))
    assert again.status == S.VALIDATED
    assert again.count("invite") == 2


def test_a_file_over_the_size_limit_is_refused_before_parsing(org, settings):
    from laurel.accounts.services import ServiceError

    from .conftest import upload

    settings.LAUREL_IMPORT_MAX_BYTES = 100
    with pytest.raises(ServiceError, match="largest accepted"):
        upload(org, "Course ID,Email,Date Completed\n" + "x,y,z\n" * 50)
    assert not ImportJob.objects.exists()


def test_a_zip_bomb_is_refused_without_being_opened(org, validated):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 50_000_000)
    job = validated(org, out.getvalue(), "bomb.xlsx")
    assert job.status == S.FAILED
    assert "compressed suspiciously" in job.error


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02\x03garbage" * 100, "not a text file"),
        (b"NNA-26-00001,ann@example.org,2025-03-01\n", "looks like data"),
        (b"Course ID,Email,Date Completed\n", "no data rows"),
    ],
)
def test_unusable_files_fail_with_a_message_the_user_can_act_on(content, message, org, validated):
    job = validated(org, content)
    assert job.status == S.FAILED
    assert message in job.error
    assert not ImportRow.objects.filter(job=job).exists()


def test_a_nul_character_in_a_cell_is_an_invalid_row_with_a_message(org, courses, validated):
    # A NUL near the top makes the file look binary (refused as a whole); past the sampled
    # top it is one bad cell.
    filler = "".join(f"NNA-26-00001,p{i}@example.org,2025-03-04,Person {i}\n" for i in range(2000))
    job = validated(
        org,
        "Course ID,Email,Date Completed,Name\n"
        + filler
        + "NNA-26-00001,a@example.org,2025-03-04,Ann\x00Lee\n",
    )
    assert job.status == S.VALIDATED, job.error
    row = ImportRow.objects.get(job=job, number=2002)
    assert row.category == ImportRow.Category.INVALID
    assert row.column == "Name" and "NUL character" in row.reason
    assert "\x00" not in row.value
    assert ImportRow.objects.get(job=job, number=2).category != ImportRow.Category.INVALID


def test_an_ip_literal_address_is_refused_by_imports(org, courses, validated):
    job = validated(org, "Course ID,Email,Date Completed\nNNA-26-00001,x@[127.0.0.1],2025-03-04\n")
    row = ImportRow.objects.get(job=job)
    assert row.category == ImportRow.Category.INVALID and row.column == "Email"
