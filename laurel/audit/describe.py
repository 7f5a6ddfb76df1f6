"""The audit trail in plain language: "Avery Northwind revoked Jo Newhire's credit for
NNA-26-00004: wrong course". Verbs and object kinds are fixed lists in code, so the page's
filter choices never need a SELECT DISTINCT over the audit table."""

from __future__ import annotations

import re
from dataclasses import dataclass

# action → what the actor did (the object follows). Unlisted actions read from their name.
VERBS: dict[str, str] = {
    "credit.entered": "entered",
    "credit.offered": "was offered",
    "credit.accepted": "accepted",
    "credit.rejected": "rejected",
    "credit.revoked": "revoked",
    "credit.voided": "voided",
    "credit.moved": "moved",
    "credit.notification_resent": "resent the e-mail about",
    "certificate.issued": "issued",
    "certificate.revoked": "revoked",
    "certificate.replaced": "replaced",
    "certificate_policy.updated": "changed",
    "certificate_template.created": "created",
    "certificate_template.updated": "changed",
    "certificate_template.made_default": "made default",
    "certificate_job.requested": "requested",
    "connection.invited": "invited",
    "connection.connected": "connected",
    "connection.member_id_set": "set the member ID of",
    "course.created": "created",
    "course.updated": "changed",
    "credit_type.created": "created",
    "credit_type.updated": "changed",
    "import.uploaded": "uploaded",
    "import.validated": "validated",
    "import.mapped": "mapped the columns of",
    "import.rows_included": "changed the rows to commit of",
    "import.commit_requested": "committed",
    "import.committed": "finished committing",
    "import.undo_requested": "asked to undo",
    "import.undone": "finished undoing",
    "import.returned": "returned",
    "import.failed": "failed",
    "member_invitation.sent": "invited",
    "member_invitation.accepted": "accepted",
    "member_invitation.cancelled": "cancelled",
    "member_invitation.resent": "resent",
    "membership.added": "added",
    "membership.removed": "removed",
    "membership.role_changed": "changed the role of",
    "organization.updated": "changed the settings of",
    "api_key.created": "created",
    "api_key.revoked": "revoked",
    "webhook_endpoint.created": "created",
    "webhook_endpoint.updated": "changed",
    "webhook_endpoint.disabled": "disabled",
    "webhook_endpoint.enabled": "enabled",
    "submission.approved": "approved",
    "submission.submitted": "submitted",
    "enrollment.enrolled": "enrolled",
    "enrollment.earned": "earned",
    "enrollment.cancelled": "cancelled",
    "completion.approved": "approved",
    "completion.recorded": "recorded",
    "mail.suppressed": "stopped mail to",
}

# object type → how a kind of object is called (also the "object" filter's choices).
KINDS: dict[str, str] = {
    "credits.credit": "credit",
    "certificates.certificate": "certificate",
    "certificates.certificatetemplate": "certificate template",
    "certificates.certificatepolicy": "certificate policy",
    "certificates.certificatejob": "certificate file",
    "imports.importjob": "import",
    "accounts.connection": "connection",
    "accounts.membership": "membership",
    "accounts.memberinvitation": "member invitation",
    "accounts.organization": "organization",
    "catalog.course": "course",
    "catalog.credittype": "credit type",
    "catalog.submission": "course submission",
    "programs.program": "program",
    "programs.enrollment": "enrollment",
    "programs.completion": "completion",
    "api.apikey": "API key",
    "integrations.webhookendpoint": "webhook",
    "recognition.ceremony": "ceremony",
}

# The action filter's choices: "credit.revoked" → "Credit revoked".
ACTION_CHOICES = [(a, a.replace("_", " ").replace(".", " ", 1).capitalize()) for a in VERBS]
OBJECT_CHOICES = sorted(((t, label.capitalize()) for t, label in KINDS.items()), key=lambda c: c[1])

_DJANGO_DEFAULT_REPR = re.compile(r"^\w+ object \(\d+\)$")


@dataclass(frozen=True)
class Line:
    who: str
    verb: str
    what: str
    reason: str

    def __str__(self) -> str:
        text = f"{self.who} {self.verb} {self.what}"
        return f"{text}: {self.reason}" if self.reason else text


def _verb(action: str) -> str:
    if action in VERBS:
        return VERBS[action]
    return action.rsplit(".", 1)[-1].replace("_", " ")


def _credit_phrase(
    recipient_name: str, recipient_email: str, title: str, course_id: str | None, holder_name
) -> str:
    name = recipient_name or holder_name or ""
    whose = f"{name}'s" if name else f"{recipient_email}'s"
    what = course_id if course_id is not None else title
    return f"{whose} credit for {what}"


def object_phrases(events) -> dict[tuple[str, str], str]:
    """Names for the events' objects, loaded in one query per kind (a page of events)."""
    from laurel.accounts.models import Connection
    from laurel.credits.models import Credit

    ids: dict[str, set[int]] = {}
    for e in events:
        if e.object_id.isdigit():
            ids.setdefault(e.object_type, set()).add(int(e.object_id))
    out: dict[tuple[str, str], str] = {}
    if "credits.credit" in ids:
        # Only the columns a phrase reads, as tuples: a page names up to 100 credits, and
        # three model instances a credit (with its course and holder) cost more CPU than
        # the rest of the page's rows.
        credits = Credit.objects.filter(pk__in=ids["credits.credit"]).values_list(
            "pk",
            "recipient_name",
            "recipient_email",
            "title",
            "course__course_id",
            "holder__full_name",
        )
        for pk, *fields in credits:
            out[("credits.credit", str(pk))] = _credit_phrase(*fields)
    if "accounts.connection" in ids:
        for pk, email in Connection.objects.filter(pk__in=ids["accounts.connection"]).values_list(
            "pk", "email"
        ):
            out[("accounts.connection", str(pk))] = f"the connection with {email}"
    return out


def describe(event, phrases: dict | None = None) -> Line:
    """One event as a sentence; ``phrases`` from ``object_phrases`` names its object."""
    phrases = phrases or {}
    kind = KINDS.get(event.object_type, event.object_type.rsplit(".", 1)[-1])
    what = phrases.get((event.object_type, event.object_id))
    if what is None:
        repr_ = event.object_repr
        if not repr_ or _DJANGO_DEFAULT_REPR.match(repr_):
            what = f"{kind} #{event.object_id}"
        else:
            what = f"{kind} {repr_}" if kind not in ("import",) else repr_
    after = event.after if isinstance(event.after, dict) else {}
    reason = str(after.get("reason") or "")
    return Line(who=event.who, verb=_verb(event.action), what=what, reason=reason)


def _plain(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, list):
        return ", ".join(_plain(v) for v in value) or "—"
    return str(value)


@dataclass(frozen=True)
class Change:
    field: str
    before: str | None  # None: the field was not recorded before
    after: str | None


def changes(event) -> list[Change]:
    """The fields that differ between ``before`` and ``after``, as readable text."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    if event.before is not None and not isinstance(event.before, dict):
        return [Change("Value", _plain(event.before), _plain(event.after))]
    out = []
    for key in list(dict.fromkeys([*before, *after])):
        if key == "reason":
            continue  # the sentence ends with it
        old, new = before.get(key), after.get(key)
        if key in before and key in after and old == new:
            continue
        label = key.replace("_", " ").capitalize()
        out.append(
            Change(
                label,
                _plain(old) if key in before else None,
                _plain(new) if key in after else None,
            )
        )
    return out
