"""Demo certificates, so a newcomer sees every state: valid, expiring, expired-soon, revoked
and replaced. Called by ``laurel/demo.py`` after it has created accepted credits."""

from __future__ import annotations

from datetime import timedelta

from laurel.audit.services import Actor
from laurel.certificates import services
from laurel.certificates.models import Certificate, CertificatePolicy


def load(org, *, limit: int = 40) -> list[Certificate]:
    """Issue certificates for up to ``limit`` of the org's accepted credits; idempotent."""
    from laurel.credits.models import Credit

    actor = Actor.system("demo")
    services.default_template(org)
    credits = (
        Credit.objects.for_org(org)
        .filter(status=Credit.Status.ACCEPTED, course__isnull=False)
        .select_related("course", "holder")
        .order_by("pk")[:limit]
    )
    issued = []
    for n, credit in enumerate(credits):
        if n % 4 == 0:  # some courses' certificates expire, one soon enough for reminders
            CertificatePolicy.objects.get_or_create(
                course=credit.course, defaults={"expires_after_days": 40 if n == 0 else 730}
            )
        cert = services.certificate_issue_for_credit(credit, actor=actor)
        if cert is not None:
            issued.append(cert)
    fresh = [c for c in issued if c.status == Certificate.Status.VALID and not c.revoke_reason]
    already_done = Certificate.objects.for_org(org).exclude(status=Certificate.Status.VALID)
    if not already_done.exists():
        for cert, reason in zip(
            fresh[1:4],
            ["Attendance could not be confirmed.", "Issued in error.", "Course retracted."],
            strict=False,
        ):
            services.certificate_revoke(actor=actor, certificate=cert, reason=reason, notify=False)
        if len(fresh) > 5:
            old = fresh[5]
            services.certificate_replace(
                actor=actor,
                certificate=old,
                reason="Name corrected at the holder's request.",
                recipient_name=old.recipient_name.upper(),
                expires_on=org.today() + timedelta(days=365),
                notify=False,
            )
    return issued
