"""Reads for providers, reviews, crib sheets and instruction text, each scoped to its reader."""

from __future__ import annotations

from django.utils.safestring import mark_safe

from laurel.accounts.models import Connection, Organization, Role
from laurel.catalog.models import Audience, Course, CribSheet, InstructionText, Submission
from laurel.lib.markdown import render as render_markdown

# Which crib sheets each staff role sees besides its own audience (admins see all).
ROLE_AUDIENCES = {
    Role.ADMIN: set(Audience.values),
    Role.REVIEWER: {Audience.REVIEWERS},
    Role.STAFF: {Audience.STAFF},
    Role.CERT_MANAGER: {Audience.STAFF},
}


def accrediting_organizations():
    return Organization.objects.filter(kind=Organization.Kind.ISSUING).order_by("name")


def approved_courses(provider):
    return (
        Course.objects.filter(
            submission__provider=provider, submission__status=Submission.Status.APPROVED
        )
        .select_related("organization")
        .order_by("course_id")
    )


def rosters_sent(provider):
    from laurel.imports.models import ImportJob

    return ImportJob.objects.filter(submitted_by_provider=provider).select_related("organization")


def review_queue(org, *, status: str = "", assigned: str = "", user=None, kind: str = ""):
    """The organization's submissions, oldest first (age since submission)."""
    qs = (
        Submission.objects.for_org(org)
        .select_related("provider", "previous")
        .prefetch_related("reviewers")
    )
    if status == "open" or not status:
        qs = qs.open()
    elif status != "all":
        qs = qs.filter(status=status)
    if assigned == "me" and user is not None:
        qs = qs.filter(reviewers=user)
    elif assigned == "none":
        qs = qs.filter(reviewers__isnull=True)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("submitted_at", "id")


def crib_sheets_for_provider():
    return (
        CribSheet.objects.current()
        .filter(audience=Audience.PROVIDERS, organization__kind=Organization.Kind.ISSUING)
        .select_related("organization")
        .order_by("organization__name", "order", "title")
    )


def crib_sheets_for_member(membership):
    return CribSheet.objects.current().filter(
        organization=membership.organization,
        audience__in=ROLE_AUDIENCES.get(membership.role, set()),
    )


def crib_sheets_for_holder(user):
    orgs = Connection.objects.filter(holder=user, status=Connection.Status.CONNECTED).values(
        "organization"
    )
    return (
        CribSheet.objects.current()
        .filter(audience=Audience.HOLDERS, organization__in=orgs)
        .select_related("organization")
        .order_by("organization__name", "order", "title")
    )


def instructions(*, area: str, organization=None, holder=None) -> list[tuple[Organization, str]]:
    """(organization, safe HTML) for an area: one organization's, a holder's connected
    organizations', or (providers) every accrediting organization's."""
    qs = (
        InstructionText.objects.filter(area=area)
        .exclude(markdown="")
        .select_related("organization")
    )
    if organization is not None:
        qs = qs.filter(organization=organization)
    elif holder is not None:
        qs = qs.filter(
            organization__in=Connection.objects.filter(
                holder=holder, status=Connection.Status.CONNECTED
            ).values("organization")
        )
    else:
        qs = qs.filter(organization__kind=Organization.Kind.ISSUING)
    return [
        (t.organization, mark_safe(render_markdown(t.markdown)))  # noqa: S308 (sanitised)
        for t in qs.order_by("organization__name")
    ]
