import base64
import csv
import io
import zipfile

import pypdf
import pytest
import segno
from django.core import mail
from django.urls import reverse
from PIL import Image

from laurel.accounts.models import Role
from laurel.audit.services import Actor
from laurel.certificates import services
from laurel.certificates.models import Certificate, CertificateJob, CertificateTemplate
from laurel.certificates.tests.conftest import issue, pdf_pages
from tests.factories import make_course, make_member

pytestmark = pytest.mark.django_db


def url(name, org, *args):
    return reverse(f"certificates:{name}", args=[org.slug, *args])


def test_list_filters_and_shows_status(client, org, admin):
    issue(org, recipient_name="Ada Lovelace", recipient_email="ada@example.com")
    revoked = issue(org, recipient_name="Bob Brown", recipient_email="bob@example.com")
    services.certificate_revoke(actor=Actor(user=admin), certificate=revoked, reason="Oops")
    client.force_login(admin)

    everything = client.get(url("list", org)).content.decode()
    only_revoked = client.get(url("list", org), {"status": "revoked"}).content.decode()
    by_name = client.get(url("list", org), {"q": "ada"}, HTTP_HX_REQUEST="true").content.decode()

    assert "Ada Lovelace" in everything and "Bob Brown" in everything
    assert "Bob Brown" in only_revoked and "Ada Lovelace" not in only_revoked
    assert "Ada Lovelace" in by_name and "Bob Brown" not in by_name
    assert "<html" not in by_name  # the htmx request gets only the rows


def test_list_query_count_does_not_grow_with_rows(
    client, org, admin, django_assert_max_num_queries
):
    course = make_course(org)
    for n in range(30):
        issue(org, recipient_email=f"p{n}@example.com", course=course, notify=False)
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        assert client.get(url("list", org)).status_code == 200


def test_admin_pages_of_another_organization_are_404(client, org, outsider):
    cert = issue(org)
    client.force_login(outsider)
    for name, args in [
        ("list", []),
        ("detail", [cert.pk]),
        ("pdf", [cert.pk]),
        ("issue", []),
        ("templates", []),
    ]:
        assert client.get(url(name, org, *args)).status_code == 404, name
    assert client.post(url("revoke", org, cert.pk), {"reason": "x"}).status_code == 404
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.VALID


def test_certificate_of_another_org_is_404_under_own_slug(client, org, admin, outsider_org):
    theirs = issue(outsider_org)
    client.force_login(admin)
    assert client.get(url("detail", org, theirs.pk)).status_code == 404
    assert client.get(url("pdf", org, theirs.pk)).status_code == 404


def test_staff_without_certificate_role_gets_404(client, org):
    staff = make_member(org, Role.STAFF, "staff@northwind.test")
    client.force_login(staff)
    assert client.get(url("list", org)).status_code == 404


def test_cert_manager_issues_manually_and_revokes_from_detail(client, org):
    manager = make_member(org, Role.CERT_MANAGER, "cm@northwind.test")
    client.force_login(manager)
    response = client.post(
        url("issue", org),
        {
            "recipient_email": "guest@example.com",
            "recipient_name": "Guest Person",
            "title": "Annual Safety Day",
            "completion_date": "2025-02-02",
            "credit_type": "CE",
            "credit_unit": "hours",
            "credit_amount": "1.25",
        },
    )
    cert = Certificate.objects.get(recipient_email="guest@example.com")
    assert response.status_code == 302
    assert cert.components == [{"code": "CE", "name": "CE", "unit": "hours", "amount": "1.25"}]
    assert cert.created_by == manager

    client.post(url("revoke", org, cert.pk), {"reason": "Duplicate"})
    cert.refresh_from_db()
    assert cert.status == Certificate.Status.REVOKED
    detail = client.get(url("detail", org, cert.pk)).content.decode()
    assert "Duplicate" in detail and "certificate.revoked" in detail


def test_issue_form_shows_errors_next_to_fields(client, org, admin):
    client.force_login(admin)
    response = client.post(url("issue", org), {"recipient_email": "nope"})
    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not Certificate.objects.exists()


def test_replace_from_detail_page(client, org, admin):
    cert = issue(org, recipient_name="Jon Smiht")
    client.force_login(admin)
    response = client.post(
        url("replace", org, cert.pk),
        {
            "reason": "Typo in name",
            "recipient_name": "Jon Smith",
            "title": cert.title,
            "completion_date": cert.completion_date.isoformat(),
        },
    )
    new = Certificate.objects.get(replaces=cert)
    assert response.url == url("detail", org, new.pk)
    assert new.recipient_name == "Jon Smith"


def test_bulk_combined_pdf_of_selected_certificates_has_one_page_each(
    client, org, admin, committed, settings
):
    certs = [issue(org, recipient_email=f"p{n}@example.com", notify=False) for n in range(7)]
    client.force_login(admin)
    with committed():
        response = client.post(
            url("bulk", org),
            {"action": "pdf", "ids": [c.pk for c in certs[:5]]},
        )
    job = CertificateJob.objects.get()
    assert response.url == url("job", org, job.pk)
    job.refresh_from_db()
    assert job.status == CertificateJob.Status.DONE
    assert job.done == 5
    download = client.get(url("job_download", org, job.pk))
    data = b"".join(download.streaming_content)
    pages = pdf_pages(data)
    assert len(pages) == 5
    assert all(c.serial_number in "".join(pages) for c in certs[:5])
    assert [m.to for m in mail.outbox] == [["admin@northwind.test"]]
    assert url("job_download", org, job.pk) in mail.outbox[0].body


def test_select_all_across_pages_uses_the_filters(client, org, admin, committed, settings):
    for n in range(60):
        issue(org, recipient_email=f"p{n}@example.com", notify=False, title="Course A")
    issue(org, recipient_email="other@example.com", notify=False, title="Course B")
    job_chunk = 25
    client.force_login(admin)
    from laurel.certificates import models

    old_default = models.CertificateJob._meta.get_field("chunk_size").default
    models.CertificateJob._meta.get_field("chunk_size").default = job_chunk
    try:
        with committed():
            client.post(url("bulk", org), {"action": "pdf", "all": "1", "q": "Course A"})
    finally:
        models.CertificateJob._meta.get_field("chunk_size").default = old_default
    job = CertificateJob.objects.get()
    assert job.total == 60
    assert job.chunk_count == 3
    with open_job(job) as handle:
        assert len(pypdf.PdfReader(handle).pages) == 60


def open_job(job):
    from django.core.files.storage import default_storage

    job.refresh_from_db()
    assert job.status == CertificateJob.Status.DONE
    return default_storage.open(job.file, "rb")


def test_progress_partial_and_last_file_keeps_only_the_newest(client, org, admin, committed):
    certs = [issue(org, recipient_email=f"p{n}@example.com", notify=False) for n in range(3)]
    client.force_login(admin)
    with committed():
        client.post(url("bulk", org), {"action": "pdf", "ids": [certs[0].pk]})
        client.post(url("bulk", org), {"action": "zip", "ids": [c.pk for c in certs]})
    first, second = CertificateJob.objects.order_by("pk")
    assert first.status == CertificateJob.Status.SUPERSEDED and not first.file
    partial = client.get(url("job", org, second.pk), HTTP_HX_REQUEST="true").content.decode()
    assert "3 of 3" in partial and "Download" in partial
    last = client.get(url("job_last", org))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(last.streaming_content)))
    assert sorted(archive.namelist()) == sorted(f"{c.serial_number}.pdf" for c in certs)


def test_jobs_of_another_user_are_404(client, org, admin, committed):
    cert = issue(org, notify=False)
    other = make_member(org, Role.CERT_MANAGER, "cm2@northwind.test")
    with committed():
        job = services.job_request(
            actor=Actor(user=other), organization=org, kind="pdf", certificate_ids=[cert.pk]
        )
    client.force_login(admin)
    assert client.get(url("job_download", org, job.pk)).status_code == 404


def test_bulk_ignores_ids_of_other_organizations(org, outsider_org):
    mine = issue(org, notify=False)
    theirs = issue(outsider_org, notify=False)
    job = services.job_request(
        actor=Actor.system("t"), organization=org, kind="pdf", certificate_ids=[mine.pk, theirs.pk]
    )
    assert job.certificate_ids == [mine.pk]


def test_csv_export_is_formula_safe(client, org, admin):
    issue(org, recipient_name='=HYPERLINK("http://evil")', title="+SUM(A1)")
    client.force_login(admin)
    response = client.post(url("bulk", org), {"action": "csv", "all": "1"})
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][0] == "serial_number"
    assert rows[1][2] == '\'=HYPERLINK("http://evil")'
    assert rows[1][4] == "'+SUM(A1)"
    assert rows[1][3] == "maria@example.com"


def test_template_editor_saves_a_new_version_and_previews(client, org, admin):
    client.force_login(admin)
    response = client.post(
        url("template_new", org),
        {
            "name": "Gala",
            "design": "modern",
            "paper": "a4",
            "accent_color": "#224466",
            "signatory_name": "Dr. Ines Ortega",
            "signatory_title": "Chair",
            "footer_text": "Approved provider 42",
        },
    )
    template = CertificateTemplate.objects.get(name="Gala")
    assert response.status_code == 302
    assert template.is_default
    buffer = io.BytesIO()
    segno.make_qr("logo").save(buffer, kind="png", scale=2)
    png = buffer.getvalue()
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.post(
        url("template_edit", org, template.pk),
        {
            "name": "Gala",
            "design": "classic",
            "paper": "a4",
            "accent_color": "#224466",
            "logo": SimpleUploadedFile("logo.png", png, "image/png"),
        },
    )
    versions = list(template.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    stored = Image.open(io.BytesIO(bytes(versions[1].logo)))  # re-encoded, same picture
    assert stored.size == Image.open(io.BytesIO(png)).size and versions[0].logo is None
    assert versions[0].design == "modern" and versions[1].design == "classic"

    # The editor's preview is an image (phones show no PDF in a frame), sent by POST so a
    # long footer never makes a long address.
    frame = client.post(
        url("template_preview_frame", org),
        {"design": "minimal", "paper": "letter", "footer_text": "é" * 500, "template": template.pk},
    ).content
    assert b'<img src="data:image/png;base64,' in frame and b"<iframe" not in frame
    png = base64.b64decode(frame.split(b"base64,", 1)[1].split(b'"', 1)[0])
    assert png.startswith(b"\x89PNG")
    assert client.get(url("template_preview_frame", org)).status_code == 405
    preview = client.get(url("template_preview", org), {"template": template.pk})
    assert preview["Content-Type"] == "image/png"
    assert preview.content != png  # the saved design (classic), not the unsaved minimal


def test_template_upload_rejects_other_image_types(client, org, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin)
    response = client.post(
        url("template_new", org),
        {
            "name": "Bad",
            "design": "classic",
            "paper": "letter",
            "accent_color": "#224466",
            "logo": SimpleUploadedFile("logo.gif", b"GIF89a....", "image/gif"),
        },
    )
    assert response.status_code == 200
    assert b"Upload a PNG or SVG image." in response.content
    assert not CertificateTemplate.objects.filter(name="Bad").exists()


def test_policy_page_sets_issue_on_entry(client, org, admin):
    course = make_course(org)
    client.force_login(admin)
    client.post(
        url("policy_edit", org, course.pk), {"issue_on": "entry", "expires_after_days": "730"}
    )
    policy = services.policy_for(course)
    assert policy.issue_on == "entry" and policy.expires_after_days == 730
    assert course.course_id in client.get(url("policies", org)).content.decode()


def test_corrupt_image_is_refused_before_it_can_break_issuing(client, org, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin)
    broken = (  # a PNG whose image data fails its checksum
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06"
        b"\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01"
        b"\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    response = client.post(
        url("template_new", org),
        {
            "name": "Broken",
            "design": "classic",
            "paper": "letter",
            "accent_color": "#224466",
            "logo": SimpleUploadedFile("logo.png", broken, "image/png"),
        },
    )
    assert b"damaged" in response.content or b"cannot be drawn" in response.content
    assert not CertificateTemplate.objects.filter(name="Broken").exists()


def test_template_logo_claiming_huge_dimensions_is_refused_before_decoding(client, org, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import png_bomb

    client.force_login(admin)
    response = client.post(
        url("template_new", org),
        {
            "name": "Bomb",
            "design": "classic",
            "paper": "letter",
            "accent_color": "#224466",
            "logo": SimpleUploadedFile("logo.png", png_bomb(100_000, 100_000), "image/png"),
        },
    )
    assert response.status_code == 200
    assert b"more pixels than any logo needs" in response.content
    assert not CertificateTemplate.objects.filter(name="Bomb").exists()


def test_template_svg_is_sanitised_before_it_is_stored(client, org, admin):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(admin)
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" onload="alert(1)">'
        b'<script>alert(2)</script><rect width="10" height="10" fill="#246"/>'
        b'<image href="https://tracker.example/pixel.png"/></svg>'
    )
    response = client.post(
        url("template_new", org),
        {
            "name": "Svg",
            "design": "classic",
            "paper": "letter",
            "accent_color": "#224466",
            "signature": SimpleUploadedFile("sig.svg", svg, "image/svg+xml"),
        },
    )
    assert response.status_code == 302, response.content.decode()[-3000:]
    stored = CertificateTemplate.objects.get(name="Svg").signature.read()
    assert b"<rect" in stored
    assert b"script" not in stored and b"onload" not in stored
    assert b"tracker.example" not in stored


def test_a_job_whose_worker_died_resumes_without_redoing_finished_chunks(
    org, admin, committed, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from laurel.certificates import rendering, tasks

    certs = [issue(org, recipient_email=f"p{n}@example.com", notify=False) for n in range(6)]
    job = CertificateJob.objects.create(
        organization=org,
        requested_by=admin,
        kind="pdf",
        certificate_ids=[c.pk for c in certs],
        total=6,
        chunk_size=2,
        status=CertificateJob.Status.RUNNING,
    )
    with committed():
        tasks.job_render_chunk.call(job.pk, 0)  # one chunk done, then the worker "died"
    CertificateJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    rendered = []
    original = rendering.render_certificates
    monkeypatch.setattr(
        rendering, "render_certificates", lambda cs: rendered.append(len(cs)) or original(cs)
    )

    with committed():
        assert tasks.job_resume_stale() == 1

    job.refresh_from_db()
    assert job.status == CertificateJob.Status.DONE
    assert rendered == [2, 2]  # chunks 1 and 2 only
    with open_job(job) as handle:
        assert len(pypdf.PdfReader(handle).pages) == 6


def test_a_file_whose_worker_keeps_dying_is_failed_after_five_resumes_and_its_requester_told(
    client, org, admin, committed, monkeypatch
):
    from datetime import timedelta

    from django.utils import timezone

    from laurel.audit.models import AuditEvent
    from laurel.certificates import rendering, tasks

    certs = [issue(org, recipient_email=f"p{n}@example.com", notify=False) for n in range(2)]
    job = CertificateJob.objects.create(
        organization=org,
        requested_by=admin,
        kind="pdf",
        certificate_ids=[c.pk for c in certs],
        total=2,
        status=CertificateJob.Status.RUNNING,
    )

    def dies(certificates):
        raise MemoryError

    monkeypatch.setattr(rendering, "render_certificates", dies)
    for attempt in range(1, 6):
        CertificateJob.objects.filter(pk=job.pk).update(
            heartbeat_at=timezone.now() - timedelta(minutes=10)
        )
        with committed():
            assert tasks.job_resume_stale() == 1
        job.refresh_from_db()
        assert (job.status, job.resumes) == (CertificateJob.Status.RUNNING, attempt)
    mail.outbox.clear()
    CertificateJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    with committed():
        assert tasks.job_resume_stale() == 0

    job.refresh_from_db()
    assert job.status == CertificateJob.Status.FAILED
    assert "not resumed again" in job.error
    [notice] = mail.outbox
    assert notice.to == [admin.email]
    assert notice.subject == f"The combined pdf of 2 certificates at {org.name} has stopped"
    assert f"/files/{job.pk}/" in notice.body
    assert AuditEvent.objects.filter(action="certificate_job.failed").count() == 1
    client.force_login(admin)
    assert "not resumed again" in client.get(url("job", org, job.pk)).content.decode()
