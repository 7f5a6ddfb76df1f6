"""Demo data for providers and reviews: Brightpath Learning with applications in every state
at Northwind, and Northwind's crib sheets and instruction text. Called by ``laurel.demo``."""

from __future__ import annotations

import io
from datetime import date

import pikepdf
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.accounts.models import User
from laurel.audit.services import Actor
from laurel.catalog import services
from laurel.catalog.models import Audience, InstructionText
from laurel.notifications.models import OutboxMessage

PROVIDER_USER = ("provider@brightpath.example", "Bea Bright")

BASE = {
    "description": "A practical course for bedside nurses.",
    "objectives": "Recognise the warning signs.\nAct on them with the team.",
    "delivery_format": "live_online",
    "sessions": [{"date": "2026-09-15", "location": "Online (Zoom)"}],
    "agenda": [{"part": "Lecture", "minutes": 60}, {"part": "Case studies", "minutes": 30}],
    "instructors": [
        {"name": "Dana Reyes", "credentials": "RN, MSN", "bio": "Critical-care educator."}
    ],
    "target_audience": "Registered nurses",
    "requested_credit": {"CE": "1.5"},
}

SHEETS = [
    (Audience.PROVIDERS, "Submitting a course for review", 1),
    (Audience.PROVIDERS, "Sending attendance rosters", 2),
    (Audience.HOLDERS, "Accepting credit into your locker", 1),
    (Audience.REVIEWERS, "Reviewing a course application", 1),
    (Audience.STAFF, "Entering credit by course ID", 1),
]

TEXTS = {
    InstructionText.Area.PROVIDER: (
        "**Northwind reviews applications within 15 business days.** Request CE in "
        "contact hours (60 minutes = 1 hour); attach the agenda and speaker disclosures."
    ),
    InstructionText.Area.REVIEW: (
        "Check the agenda minutes against the requested hours, then the disclosures. "
        "Use *internal* comments for notes the provider must not see."
    ),
    InstructionText.Area.ENTRY: (
        "Enter the course ID exactly as approved (e.g. `NNA-26-00001`). Questions: "
        "[education@northwind.example](mailto:education@northwind.example)."
    ),
    InstructionText.Area.LOCKER: (
        "Credit from Northwind arrives here: **accept** it into the dashboard of your license."
    ),
}


def sheet_pdf(title: str) -> bytes:
    """A one-page PDF with the sheet's title (demo content)."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(612, 792))
    page = pdf.pages[0]
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                           BaseFont=pikepdf.Name.Helvetica)
    )  # fmt: skip
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    safe = title.replace("\\", "").replace("(", "").replace(")", "")
    page.Contents = pdf.make_stream(f"BT /F1 20 Tf 72 700 Td ({safe}) Tj ET".encode("latin-1"))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def load(northwind, *, reviewer, admin) -> None:
    user = User.objects.create_user(
        email=PROVIDER_USER[0], password=settings.LAUREL_DEMO_PASSWORD, full_name=PROVIDER_USER[1]
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    provider = services.provider_create(
        actor=Actor(user=user), user=user, name="Brightpath Learning", slug="brightpath"
    )
    by_provider, by_reviewer, by_admin = Actor(user=user), Actor(user=reviewer), Actor(user=admin)

    def application(title, **extra):
        return services.application_save(
            actor=by_provider, provider=provider, **{**BASE, "title": title, **extra}
        )

    def submit(app, **kw):
        return services.application_submit(
            actor=by_provider, application=app, organizations=[northwind], **kw
        )[0]

    application("Wound Vac Therapy Essentials (draft)", delivery_format="self_paced", sessions=[])
    submit(application("Safe Medication Handoffs"))
    in_review = submit(application("Delirium in Older Adults"))
    services.submission_assign(actor=by_admin, submission=in_review, reviewers=[reviewer])
    services.submission_comment(
        actor=by_reviewer, submission=in_review, body="Agenda adds up; checking the bios.",
        internal=True,
    )  # fmt: skip
    changes = submit(application("Telehealth Triage Basics"))
    services.submission_decide(
        actor=by_reviewer, submission=changes, decision="request_changes",
        reason="Add a 15-minute post-test to the agenda.",
    )  # fmt: skip
    approved_app = application("Stroke Scale Certification Prep", requested_credit={"CE": "2"})
    approved = submit(approved_app)
    services.submission_decide(
        actor=by_reviewer, submission=approved, decision="approve", credit={"CE": "1.5"},
        active_from=date(2026, 1, 1), active_until=date(2027, 12, 31),
    )  # fmt: skip
    denied_app = application("Aromatherapy for Anxiety")
    denied = submit(denied_app)
    services.submission_decide(
        actor=by_reviewer, submission=denied, decision="deny",
        reason="Outside the nursing scope of practice Northwind accredits.",
    )  # fmt: skip
    submit(denied_app, previous=denied)  # resubmitted after the denial, linked to it

    for audience, title, order in SHEETS:
        services.crib_sheet_add(
            actor=by_admin, organization=northwind, audience=audience, title=title, order=order,
            upload=SimpleUploadedFile(f"{title}.pdf", sheet_pdf(title)),
        )  # fmt: skip
    for area, text in TEXTS.items():
        services.instruction_text_set(
            actor=by_admin, organization=northwind, area=area, markdown=text
        )
    # The demo tells a story after the fact: like its credits (entered with notify=False),
    # nobody is e-mailed. The queued sends find no message and skip.
    OutboxMessage.objects.filter(kind__startswith="submission_").delete()
