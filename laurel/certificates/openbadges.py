"""Open Badges 3.0 for Laurel certificates: each organization's did:web, its signing key,
its Bitstring Status List, and the OpenBadgeCredential of each certificate.

The status list is derived from the certificates table (revoked or replaced certificates have
their bit set), so it cannot drift from what the verification page says.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.cache import cache
from django.db.models import Max
from django.utils import timezone

from laurel.accounts.models import Organization, organization_by_any_slug
from laurel.certificates.models import Certificate, OrganizationSigningKey, fernet_key
from laurel.lib import ob3
from laurel.lib.amounts import credit_label
from laurel.lib.deadline import BudgetExceeded, time_budget

STATUS_LIST_BITS = 131072  # the spec's minimum (16 KB): herd privacy for small issuers


def site_host() -> str:
    return urlsplit(settings.SITE_URL).netloc


def issuer_did(org: Organization, slug: str | None = None) -> str:
    """``did:web:<host>:o:<slug>``, whose document is served at ``/o/<slug>/did.json``.

    ``slug`` is one the organization used before a rename: credentials issued then name it,
    so its DID and status list stay served (see ``OrganizationSlug``)."""
    return ob3.did_web(site_host(), "o", slug or org.slug)


def status_list_url(org: Organization, slug: str | None = None) -> str:
    return f"{settings.SITE_URL}/o/{slug or org.slug}/status-list.json"


def _fernet() -> MultiFernet:
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(fernet_key(s)) for s in secrets_])


def encrypt_private_key(raw: bytes) -> str:
    return _fernet().encrypt(raw).decode("ascii")


def decrypt_private_key(key: OrganizationSigningKey):
    try:
        raw = _fernet().decrypt(key.private_key_encrypted.encode("ascii"))
    except InvalidToken as exc:
        raise RuntimeError(
            "The organization's signing key cannot be decrypted: SECRET_KEY changed without "
            "the old value in SECRET_KEY_FALLBACKS. Rotate the signing key."
        ) from exc
    return ob3.private_key_from_bytes(raw)


def did_document(org: Organization, slug: str | None = None) -> dict:
    keys = list(
        OrganizationSigningKey.objects.filter(organization=org).order_by(
            "retired_at", "-created_at"
        )
    )
    active = [k for k in keys if k.retired_at is None]
    if not active:
        return {}
    older = [k.public_key_multibase for k in keys if k.retired_at is not None]
    return ob3.did_web_document(issuer_did(org, slug), active[0].public_key_multibase, *older)


def _midnight(day, org: Organization) -> datetime:
    return datetime.combine(day, time.min, tzinfo=org.tz).astimezone(UTC)


def build_signed_credential(cert: Certificate, key: OrganizationSigningKey) -> dict:
    org = cert.organization
    did = issuer_did(org)
    description = f"Issued by {org.name} for completing “{cert.title}”."
    achievement_ref = cert.course.course_id if cert.course_id else f"certificate-{cert.pk}"
    credits = [(c["amount"], credit_label(c["name"], c.get("unit", ""))) for c in cert.components]
    valid_until = _midnight(cert.expires_on, org) if cert.expires_on else None
    credential = ob3.build_credential(
        issuer_did=did,
        issuer_name=org.name,
        issuer_url=f"{settings.SITE_URL}/",
        credential_id=cert.verification_url,
        achievement_id=f"{settings.SITE_URL}/o/{org.slug}/achievements/{achievement_ref}",
        achievement_name=cert.title,
        achievement_description=description,
        criteria_narrative=f"Completed on {cert.completion_date.isoformat()}.",
        recipient_name=cert.recipient_name,
        recipient_identifier=ob3.email_identity(cert.recipient_email, salt=cert.identity_salt),
        valid_from=cert.issued_at.replace(microsecond=0),
        valid_until=valid_until,
        credits=credits,
        status_list_url=status_list_url(org),
        status_list_index=cert.status_list_index,
    )
    return ob3.sign(
        credential,
        private_key=decrypt_private_key(key),
        verification_method=f"{did}#{key.public_key_multibase}",
        created=cert.issued_at.replace(microsecond=0),
    )


def revoked_indexes(org: Organization) -> list[int]:
    return list(
        Certificate.objects.for_org(org)
        .exclude(status=Certificate.Status.VALID)
        .order_by("status_list_index")
        .values_list("status_list_index", flat=True)
    )


def status_list(org: Organization, slug: str | None = None) -> dict | None:
    """The signed status list credential; cached until a revocation changes the bits."""
    key = OrganizationSigningKey.objects.filter(organization=org, retired_at=None).first()
    if key is None:
        return None
    indexes = revoked_indexes(org)
    slug = slug or org.slug
    cache_key = f"cert-status-list:{org.pk}:{slug}:{key.pk}:{len(indexes)}:{hash(tuple(indexes))}"
    cached = cache.get(cache_key)
    if cached is not None:
        return cached
    size = max(STATUS_LIST_BITS, -(-(max(indexes, default=0) + 1) // 8) * 8)
    bits = ob3.new_status_list(size)
    for index in indexes:
        ob3.set_bit(bits, index)
    # Valid from the last change, not from "now": a list signed a moment after a verifier
    # read its clock would otherwise be not yet valid (and the bytes would change needlessly).
    last_change = (
        Certificate.objects.for_org(org)
        .exclude(status=Certificate.Status.VALID)
        .aggregate(at=Max("revoked_at"))["at"]
    )
    since = max(filter(None, [key.created_at, last_change])).replace(microsecond=0)
    did = issuer_did(org, slug)
    unsigned = ob3.status_list_credential(
        url=status_list_url(org, slug), issuer_did=did, bits=bits, valid_from=since
    )
    signed = ob3.sign(
        unsigned,
        private_key=decrypt_private_key(key),
        verification_method=f"{did}#{key.public_key_multibase}",
        created=since,
    )
    cache.set(cache_key, signed, 3600)
    return signed


def _org_for_did(did: str) -> tuple[Organization | None, str]:
    prefix = ob3.did_web(site_host(), "o", "")
    if not did.startswith(prefix):
        return None, ""
    slug = did.removeprefix(prefix)
    return (organization_by_any_slug(slug) if slug else None), slug


def resolve_did(controller: str) -> dict | None:
    """Resolve this site's own issuers only: verification never fetches from the network."""
    org, slug = _org_for_did(controller)
    return (did_document(org, slug) or None) if org else None


def fetch_status_list(url: str) -> dict | None:
    base = f"{settings.SITE_URL}/o/"
    if not (url.startswith(base) and url.endswith("/status-list.json")):
        return None
    slug = url.removeprefix(base).removesuffix("/status-list.json")
    org = organization_by_any_slug(slug)
    return status_list(org, slug) if org else None


# What the public checker accepts. A Laurel credential is ~4 KB and ~150 JSON values; these
# leave room for other issuers' evidence while bounding what canonicalization can cost.
MAX_CREDENTIAL_BYTES = 256 * 1024
MAX_JSON_VALUES = 2000
MAX_DEPTH = 24
CHECK_SECONDS = 5


def verify_credential(credential) -> list[ob3.Check]:
    """Every check of ``credential``; refused unchecked when it is too large to canonicalize
    or its checks take longer than ``CHECK_SECONDS``."""
    problem = ob3.size_problem(credential, max_values=MAX_JSON_VALUES, max_depth=MAX_DEPTH)
    if problem:
        return [ob3.Check(name, False, f"not checked: {problem}") for name in ob3.CHECK_NAMES]
    try:
        with time_budget(CHECK_SECONDS):
            return ob3.verify(
                credential,
                resolve_did=resolve_did,
                fetch_status_list=fetch_status_list,
                now=timezone.now(),
            )
    except BudgetExceeded as exc:
        return [ob3.Check(name, False, f"not checked: {exc}") for name in ob3.CHECK_NAMES]
