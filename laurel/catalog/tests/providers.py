"""Factories for providers, applications and submissions (tests only)."""

from __future__ import annotations

from datetime import date

from django.core.files.uploadedfile import SimpleUploadedFile

from laurel.accounts.models import Organization, Role
from laurel.audit.services import Actor
from laurel.catalog import services
from tests.factories import make_credit_type, make_member, make_org, make_user

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def pdf(name: str = "agenda.pdf", data: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def make_accrediting(slug: str, prefix: str, **extra) -> Organization:
    org = make_org(slug, name=slug.title(), course_id_prefix=prefix, **extra)
    make_credit_type(org, "CE")
    make_credit_type(org, "ETH")
    return org


def make_provider(slug: str, email: str | None = None):
    """A provider organization and its first admin."""
    user = make_user(email or f"admin@{slug}.example")
    provider = services.provider_create(
        actor=Actor(user=user), user=user, name=slug.title(), slug=slug
    )
    return provider, user


COMPLETE = {
    "title": "Safe Medication Handoffs",
    "description": "How to hand over medication orders between shifts.",
    "objectives": "Name the five handoff checks.\nUse a closed-loop read-back.",
    "delivery_format": "live_online",
    "sessions": [{"date": "2026-09-01", "location": "Online"}],
    "agenda": [{"minutes": 30, "part": "Why handoffs fail"}, {"minutes": 60, "part": "Practice"}],
    "instructors": [{"name": "Dana Reyes", "credentials": "RN, MSN", "bio": "ICU educator."}],
    "target_audience": "Registered nurses",
    "requested_credit": {"CE": "1.5"},
}


def make_application(provider, user, **overrides):
    return services.application_save(
        actor=Actor(user=user), provider=provider, **{**COMPLETE, **overrides}
    )


def submit(app, user, *orgs, **kw):
    return services.application_submit(
        actor=Actor(user=user), application=app, organizations=list(orgs), **kw
    )


def make_reviewer(org, email: str | None = None):
    return make_member(org, Role.REVIEWER, email or f"reviewer@{org.slug}.example")


def approve(sub, reviewer, credit=None, **kw):
    return services.submission_decide(
        actor=Actor(user=reviewer),
        submission=sub,
        decision="approve",
        credit=credit or {"CE": "1.5"},
        active_from=kw.pop("active_from", date(2026, 9, 1)),
        **kw,
    )
