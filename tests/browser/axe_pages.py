"""The pages a visitor, a holder and staff reach in the demo, for the axe and screenshot run.

Data, not code: add a page by adding a line. A path may name demo objects in braces
(``{credit}``); ``LOOKUPS`` says how each is found. ``shot=True`` also saves a screenshot
at both widths into ``test-results/screenshots/``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    name: str
    path: str
    shot: bool = False
    status: int = 200


def _pk(model_path: str, **filters):
    def find():
        from django.apps import apps

        model = apps.get_model(model_path)
        obj = model.objects.filter(**filters).order_by("pk").first()
        assert obj is not None, f"the demo has no {model_path} with {filters}"
        return obj.pk

    return find


def _code():
    from laurel.certificates.models import Certificate

    cert = Certificate.objects.filter(organization__slug="northwind").order_by("pk").first()
    assert cert is not None, "the demo has no Northwind certificate"
    return cert.verification_code


LOOKUPS = {
    "credit": _pk("credits.Credit", organization__slug="northwind"),
    "nurse_credit": _pk("credits.Credit", holder__email="nurse@example.com"),
    "nurse_dashboard": _pk("credits.Dashboard", holder__email="nurse@example.com"),
    "course": _pk("catalog.Course", organization__slug="northwind"),
    "certificate": _pk("certificates.Certificate", organization__slug="northwind"),
    "template": _pk("certificates.CertificateTemplate", organization__slug="northwind"),
    "program": _pk("programs.Program", organization__slug="northwind"),
    "enrollment": _pk("programs.Enrollment", organization__slug="northwind"),
    "endpoint": _pk("integrations.WebhookEndpoint", organization__slug="northwind"),
    "submission": _pk("catalog.Submission", organization__slug="northwind"),
    "application": _pk("catalog.CourseApplication", provider__slug="brightpath"),
    "cohort": _pk("recognition.Cohort"),
    "code": _code,
    "event": _pk("events.Event", organization__slug="northwind"),
    "public_event": _pk("events.Event", organization__slug="northwind", visibility="public"),
}

NORTHWIND = "/o/northwind"

# Who logs in (None: a visitor) → the pages they reach.
PAGES: dict[str | None, list[Page]] = {
    None: [
        Page("home", "/", shot=True),
        Page("log-in", "/accounts/login/", shot=True),
        Page("sign-up", "/accounts/signup/", shot=True),
        Page("password-reset", "/accounts/password/reset/"),
        Page("verify-form", "/v/check/"),
        Page("verification", "/v/{code}", shot=True),
        Page("verification-wrong-code", "/v/NOSUCHCODE", status=404),
        Page("not-found", "/no/such/page/", status=404, shot=True),
    ],
    "nurse@example.com": [
        Page("locker", "/locker/", shot=True),
        Page("locker-credit", "/locker/credits/{nurse_credit}/"),
        Page("dashboard", "/locker/dashboards/{nurse_dashboard}/", shot=True),
        Page("dashboard-new", "/locker/dashboards/new/"),
        Page("transcript", "/locker/transcript/"),
        Page("my-certificates", "/locker/certificates/", shot=True),
        Page("self-report", "/locker/self-report/"),
        Page("profile", "/profile/"),
        Page("my-events", "/my/events/"),
        Page("public-event", "/events/{public_event}/", shot=True),
        Page("my-programs", "/locker/programs/", shot=True),
        Page("my-program-transcript", "/locker/programs/transcript/"),
        Page("account-email", "/accounts/email/"),
        Page("password-change", "/accounts/password/change/"),
        Page("account-security", "/accounts/2fa/"),
        Page("become-provider", "/providers/new/"),
    ],
    "admin@northwind.example": [
        Page("org-home", f"{NORTHWIND}/", shot=True),
        Page("ledger", f"{NORTHWIND}/credits/", shot=True),
        Page("credit-pairs", f"{NORTHWIND}/credits/pairs/"),
        Page("events", f"{NORTHWIND}/events/", shot=True),
        Page("event", f"{NORTHWIND}/events/{{event}}/"),
        Page("event-attendees", f"{NORTHWIND}/events/{{event}}/attendees/", shot=True),
        Page("event-check-in", f"{NORTHWIND}/events/{{event}}/check-in/"),
        Page("credit-new", f"{NORTHWIND}/credits/new/", shot=True),
        Page("claims", f"{NORTHWIND}/credits/claims/"),
        Page("credit-detail", f"{NORTHWIND}/credits/{{credit}}/"),
        Page("courses", f"{NORTHWIND}/courses/"),
        Page("course-detail", f"{NORTHWIND}/courses/{{course}}/"),
        Page("course-new", f"{NORTHWIND}/courses/new/"),
        Page("certificates", f"{NORTHWIND}/certificates/", shot=True),
        Page("certificate-detail", f"{NORTHWIND}/certificates/{{certificate}}/"),
        Page("certificate-issue", f"{NORTHWIND}/certificates/issue/"),
        Page("certificate-templates", f"{NORTHWIND}/certificates/templates/"),
        Page(
            "certificate-template", f"{NORTHWIND}/certificates/templates/{{template}}/", shot=True
        ),
        Page("certificate-policies", f"{NORTHWIND}/certificates/policies/"),
        Page("programs", f"{NORTHWIND}/programs/"),
        Page("program", f"{NORTHWIND}/programs/{{program}}/"),
        Page("program-approvals", f"{NORTHWIND}/programs/approvals/"),
        Page("program-enrollees", f"{NORTHWIND}/programs/enrollees/"),
        Page("enrollment", f"{NORTHWIND}/programs/enrollments/{{enrollment}}/"),
        Page("imports", f"{NORTHWIND}/imports/", shot=True),
        Page("import-upload", f"{NORTHWIND}/imports/new/"),
        Page("review-queue", f"{NORTHWIND}/review/"),
        Page("credit-types", f"{NORTHWIND}/credit-types/"),
        Page("members", f"{NORTHWIND}/members/"),
        Page("audit", f"{NORTHWIND}/audit/", shot=True),
        Page("outbox", f"{NORTHWIND}/outbox/"),
        Page("settings", f"{NORTHWIND}/settings/"),
        Page("api-keys", f"{NORTHWIND}/api-keys/"),
        Page("crib-sheets", f"{NORTHWIND}/crib-sheets/"),
        Page("instructions", f"{NORTHWIND}/instructions/"),
        Page("webhooks", f"{NORTHWIND}/webhooks/"),
        Page("webhook", f"{NORTHWIND}/webhooks/{{endpoint}}/"),
        Page("forbidden-other-org", "/o/lakeside/credits/", status=404),
    ],
    "staff@northwind.example": [
        Page("staff-ledger", f"{NORTHWIND}/credits/"),
        Page("staff-credit-new", f"{NORTHWIND}/credits/new/"),
    ],
    "reviewer@northwind.example": [
        Page("reviewer-queue", f"{NORTHWIND}/review/"),
        Page("review-detail", f"{NORTHWIND}/review/{{submission}}/"),
    ],
    "provider@brightpath.example": [
        Page("provider-home", "/o/brightpath/provider/", shot=True),
        Page("provider-rosters", "/o/brightpath/provider/rosters/"),
        Page("provider-application", "/o/brightpath/provider/applications/{application}/"),
    ],
    "admin@keystone.example": [
        Page("recognition", "/o/keystone/recognition/", shot=True),
        Page("cohorts", "/o/keystone/recognition/cohorts/"),
        Page("cohort", "/o/keystone/recognition/cohorts/{cohort}/"),
        Page("pins", "/o/keystone/recognition/pins/"),
        Page("canvas", "/o/keystone/recognition/canvas/"),
    ],
}


def resolve(path: str, cache: dict) -> str:
    """Fill ``{name}`` placeholders from the demo (each looked up once)."""
    import string

    names = [field for _, field, _, _ in string.Formatter().parse(path) if field]
    for name in names:
        if name not in cache:
            cache[name] = LOOKUPS[name]()
    return path.format(**{name: cache[name] for name in names})
