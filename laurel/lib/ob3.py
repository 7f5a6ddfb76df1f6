"""Open Badges 3.0 credentials: build, sign (eddsa-rdfc-2022) and verify, entirely offline.

Each Laurel certificate can be exported as an ``OpenBadgeCredential`` (W3C VC Data Model 2.0)
with an embedded ``DataIntegrityProof`` (Ed25519, RDFC-1.0 canonicalization), issued by the
organization's did:web and revocable through a W3C Bitstring Status List. Typical use::

    key = ob3.generate_private_key()            # store ob3.private_key_to_bytes(key) encrypted
    did = ob3.did_web("laurel.example", "orgs", "nar")
    vm = f"{did}#{ob3.public_key_multibase(key)}"
    # serve ob3.did_web_document(did, ob3.public_key_multibase(key)) at did_web_document_url(did)
    credential = ob3.build_credential(issuer_did=did, ..., credits=[(Decimal("1.5"), "COEC hours")])
    signed = ob3.sign(credential, private_key=key, verification_method=vm, created=now)
    checks = ob3.verify(signed, resolve_did=..., fetch_status_list=..., now=now)
    ok = all(check.passed for check in checks)

Credits: every credit component becomes an ``achievement.resultDescription`` (name = the
credit type and unit, ``resultType`` ``ext:ContinuingEducationCredit``) and a matching
``credentialSubject.result`` whose ``value`` is the amount as a decimal string. When there is
exactly one component, its amount is also given as ``achievement.creditsAvailable`` and
``credentialSubject.creditsEarned`` (OB's own unitless number). See
docs/decisions/0003-open-badges.md.

Public API: :func:`build_credential`, :func:`email_identity`, :func:`sign`, :func:`verify`
(returns a list of :class:`Check`), the status list functions re-exported from
``ob3_status`` and the key/DID functions re-exported from ``ob3_keys``.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

import jsonschema
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pyld.jsonld import JsonLdError

from laurel.lib.ob3_jsonld import (
    BUNDLED_CONTEXTS,
    CREDENTIALS_V2,
    OB_V3P0,
    ContextNotBundled,
    UndefinedTerm,
    canonicalize,
    format_datetime,
    parse_datetime,
)
from laurel.lib.ob3_keys import (
    base58btc_decode,
    base58btc_encode,
    did_key_document,
    did_web,
    did_web_document,
    did_web_document_url,
    generate_private_key,
    private_key_from_bytes,
    private_key_to_bytes,
    public_key_from_multibase,
    public_key_multibase,
)
from laurel.lib.ob3_status import (
    MIN_BITS,
    decode_status_list,
    encode_status_list,
    get_bit,
    new_status_list,
    set_bit,
    status_list_credential,
    status_list_entry,
)

__all__ = [
    "CHECK_NAMES",
    "MIN_BITS",
    "Check",
    "build_credential",
    "data_to_sign",
    "decode_status_list",
    "did_key_document",
    "did_web",
    "did_web_document",
    "did_web_document_url",
    "email_identity",
    "encode_status_list",
    "generate_private_key",
    "get_bit",
    "new_status_list",
    "private_key_from_bytes",
    "private_key_to_bytes",
    "public_key_from_multibase",
    "public_key_multibase",
    "set_bit",
    "sign",
    "status_list_credential",
    "status_list_entry",
    "validate_schema",
    "verify",
]

SCHEMA_PATH = Path(__file__).with_name("ob3_contexts") / "ob_v3p0_achievementcredential_schema.json"
OB_CONTEXT_PATTERN = re.compile(
    r"^https://purl\.imsglobal\.org/spec/ob/v3p0/context(-3\.\d\.\d)*\.json$"
)
CREDIT_RESULT_TYPE = "ext:ContinuingEducationCredit"
PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
PROOF_PURPOSE = "assertionMethod"

# A resolver maps a verificationMethod's controller (a did:web, or an https URL) to its DID
# (controller) document, or None when it is unknown. did:key is resolved here, offline.
ResolveDid = Callable[[str], dict[str, Any] | None]
# Returns the status list credential served at a URL, or None when it cannot be had.
FetchStatusList = Callable[[str], dict[str, Any] | None]


class Check(NamedTuple):
    """One verification step: its name, whether it passed, and a message for people."""

    name: str
    passed: bool
    message: str


# --- building -------------------------------------------------------------------------------


def email_identity(email: str, *, salt: str) -> dict[str, Any]:
    """Return the OB 3.0 ``IdentityObject`` for an email: salted SHA-256 of its lowercase form.

    Use a fresh random salt per credential (``secrets.token_hex(16)``) so hashes cannot be
    matched across credentials; the salt is published in the object, as OB 3.0 specifies.
    """
    normalized = email.strip().lower()
    digest = hashlib.sha256((normalized + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": f"sha256${digest}",
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def build_credential(
    *,
    issuer_did: str,
    issuer_name: str,
    issuer_url: str,
    credential_id: str,
    achievement_id: str,
    achievement_name: str,
    achievement_description: str,
    criteria_narrative: str,
    recipient_name: str,
    recipient_identifier: dict[str, Any],
    valid_from: datetime,
    valid_until: datetime | None,
    credits: Sequence[tuple[Decimal | int | str, str]],
    status_list_url: str,
    status_list_index: int,
    image_url: str | None = None,
    achievement_type: str = "CertificateOfCompletion",
) -> dict[str, Any]:
    """Return an unsigned OpenBadgeCredential; raise ValueError if it would not be valid.

    ``recipient_identifier`` comes from :func:`email_identity`; ``credits`` are pairs of
    (amount, credit type and unit, e.g. ``"COEC hours"``); ``achievement_type`` is an OB 3.0
    AchievementType (``CertificateOfCompletion``, ``Certification``, ...).
    """
    valid_from_text = format_datetime(valid_from)
    valid_until_text = None if valid_until is None else format_datetime(valid_until)
    if valid_until is not None and valid_until <= valid_from:
        raise ValueError("valid_until must be after valid_from")
    achievement: dict[str, Any] = {
        "id": achievement_id,
        "type": ["Achievement"],
        "achievementType": achievement_type,
        "name": achievement_name,
        "description": achievement_description,
        "criteria": {"narrative": criteria_narrative},
    }
    if image_url:
        achievement["image"] = {"id": image_url, "type": "Image"}
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [
            recipient_identifier,
            {
                "type": "IdentityObject",
                "identityHash": recipient_name,
                "identityType": "name",
                "hashed": False,
            },
        ],
        "achievement": achievement,
    }
    amounts = [(_decimal(amount), unit) for amount, unit in credits]
    if amounts:
        descriptions, results = [], []
        for number, (amount, unit) in enumerate(amounts, start=1):
            description_id = f"{achievement_id}#credits-{number}"
            descriptions.append(
                {
                    "id": description_id,
                    "type": ["ResultDescription"],
                    "name": unit,
                    "resultType": CREDIT_RESULT_TYPE,
                }
            )
            results.append(
                {"type": ["Result"], "resultDescription": description_id, "value": f"{amount:f}"}
            )
        achievement["resultDescription"] = descriptions
        subject["result"] = results
        if len(amounts) == 1:
            achievement["creditsAvailable"] = float(amounts[0][0])
            subject["creditsEarned"] = float(amounts[0][0])
    credential: dict[str, Any] = {
        "@context": [CREDENTIALS_V2, OB_V3P0],
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_did, "type": ["Profile"], "name": issuer_name, "url": issuer_url},
        "validFrom": valid_from_text,
    }
    if valid_until_text is not None:
        credential["validUntil"] = valid_until_text
    credential["name"] = achievement_name
    credential["credentialSubject"] = subject
    credential["credentialStatus"] = status_list_entry(
        status_list_url=status_list_url, index=status_list_index
    )
    errors = validate_schema(credential)
    if errors:
        raise ValueError("credential would not match the OB 3.0 schema: " + "; ".join(errors))
    return credential


def _decimal(amount: Decimal | int | str) -> Decimal:
    value = Decimal(str(amount))
    if not value.is_finite() or value < 0:
        raise ValueError(f"credit amount must be a non-negative number, not {amount!r}")
    return value


# --- signing --------------------------------------------------------------------------------


def sign(
    credential: dict[str, Any],
    *,
    private_key: Ed25519PrivateKey,
    verification_method: str,
    created: datetime,
) -> dict[str, Any]:
    """Return a copy of ``credential`` with an eddsa-rdfc-2022 proof (a one-element array).

    ``verification_method`` is ``<issuer did>#<publicKeyMultibase>``. Works for any VC 2.0
    document whose contexts are bundled (OB credentials and status list credentials).
    """
    if "proof" in credential:
        raise ValueError("credential is already signed")
    proof = {
        "type": PROOF_TYPE,
        "created": format_datetime(created),
        "verificationMethod": verification_method,
        "cryptosuite": CRYPTOSUITE,
        "proofPurpose": PROOF_PURPOSE,
    }
    signature = private_key.sign(data_to_sign(credential, proof))
    signed = copy.deepcopy(credential)
    signed["proof"] = [{**proof, "proofValue": "z" + base58btc_encode(signature)}]
    return signed


def data_to_sign(unsecured: dict[str, Any], proof_options: dict[str, Any]) -> bytes:
    """Return SHA-256(canonical proof config) + SHA-256(canonical document), per the suite."""
    config = {k: v for k, v in proof_options.items() if k != "proofValue"}
    config["@context"] = unsecured["@context"]
    proof_hash = hashlib.sha256(canonicalize(config).encode("utf-8")).digest()
    document_hash = hashlib.sha256(canonicalize(unsecured).encode("utf-8")).digest()
    return proof_hash + document_hash


# --- schema ---------------------------------------------------------------------------------

_format_checker = jsonschema.FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        parse_datetime(value)
    return True


@cache
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> jsonschema.Draft201909Validator:
    return jsonschema.Draft201909Validator(_schema(), format_checker=_format_checker)


def validate_schema(credential: Any) -> list[str]:
    """Return the OB 3.0 AchievementCredential JSON Schema errors (empty when valid)."""
    errors = sorted(_validator().iter_errors(credential), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def _as_arrays(instance: Any, schema: dict[str, Any]) -> Any:
    """Wrap single values in a list wherever the schema wants an array.

    JSON-LD and VC 2.0 let a one-element set be written as a bare value, and the official
    validator samples do so; the plain-JSON schema only accepts arrays.
    """
    if "$ref" in schema:
        schema = _schema()["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    for part in schema.get("allOf", []):
        instance = _as_arrays(instance, part)
    if schema.get("type") == "array" and not isinstance(instance, list):
        instance = [instance]
    if isinstance(instance, dict):
        properties = schema.get("properties", {})
        return {
            key: _as_arrays(value, properties[key]) if key in properties else value
            for key, value in instance.items()
        }
    if isinstance(instance, list) and isinstance(schema.get("items"), dict):
        return [_as_arrays(value, schema["items"]) for value in instance]
    return instance


# --- verifying ------------------------------------------------------------------------------


def size_problem(document: Any, *, max_values: int, max_depth: int) -> str | None:
    """Why ``document`` is too big to canonicalize (more JSON values or deeper nesting than
    allowed), or None. Cheap: it stops at the first value over the limit."""
    stack = [(document, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > max_values:
            return f"the document has more than {max_values} JSON values"
        if depth > max_depth:
            return f"the document nests deeper than {max_depth} levels"
        if isinstance(value, dict):
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
    return None


def verify(
    credential: dict[str, Any],
    *,
    resolve_did: ResolveDid,
    fetch_status_list: FetchStatusList,
    now: datetime,
) -> list[Check]:
    """Check a credential; return every check, passed or not. Never raises on bad input.

    Checks, in order: ``context``, ``type``, ``schema``, ``proof``, ``verification_method``,
    ``issuer_key`` (the key's controller is the issuer), ``signature``, ``valid_from``,
    ``valid_until``, ``status``. It is valid when all passed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not isinstance(credential, dict):
        return [Check(name, False, "not a JSON object") for name in CHECK_NAMES]
    checks = [
        _guard("context", _check_context, credential),
        _guard("type", _check_type, credential),
        _guard("schema", _check_schema, credential),
    ]
    proof, message = _safely(_find_proof, credential)
    checks.append(Check("proof", proof is not None, message))
    key, message = (
        (None, "no usable proof") if proof is None else _safely(_resolve_key, proof, resolve_did)
    )
    checks.append(Check("verification_method", key is not None, message))
    checks.append(_guard("issuer_key", _check_issuer_key, credential, proof))
    checks.append(_guard("signature", _check_signature, credential, proof, key))
    checks.append(_guard("valid_from", _check_valid_from, credential, now))
    checks.append(_guard("valid_until", _check_valid_until, credential, now))
    checks.append(_guard("status", _check_status, credential, resolve_did, fetch_status_list, now))
    return checks


CHECK_NAMES = (
    "context",
    "type",
    "schema",
    "proof",
    "verification_method",
    "issuer_key",
    "signature",
    "valid_from",
    "valid_until",
    "status",
)


def _safely(find: Callable[..., tuple[Any, str]], *args: Any) -> tuple[Any, str]:
    try:
        return find(*args)
    except Exception as exc:
        return None, f"could not be checked: {exc.__class__.__name__}: {exc}"


def _guard(name: str, check: Callable[..., tuple[bool, str]], *args: Any) -> Check:
    # A verifier faces arbitrary input: a malformed credential fails the check, never crashes.
    try:
        passed, message = check(*args)
    except Exception as exc:
        passed, message = False, f"could not be checked: {exc.__class__.__name__}: {exc}"
    return Check(name, passed, message)


def _check_context(credential: dict[str, Any]) -> tuple[bool, str]:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or len(contexts) < 2:
        return False, "@context must be a list: credentials v2, then an OB 3.0 context"
    if contexts[0] != CREDENTIALS_V2:
        return False, f"first @context must be {CREDENTIALS_V2}"
    if not isinstance(contexts[1], str) or not OB_CONTEXT_PATTERN.match(contexts[1]):
        return False, "second @context must be an OB 3.0 context"
    unknown = [c for c in contexts if isinstance(c, str) and c not in BUNDLED_CONTEXTS]
    if unknown:
        return False, f"contexts not bundled (never fetched): {', '.join(unknown)}"
    return True, "credentials v2 and OB 3.0 contexts, all bundled"


def _types(node: dict[str, Any]) -> list[Any]:
    value = node.get("type", [])
    return value if isinstance(value, list) else [value]


def _check_type(credential: dict[str, Any]) -> tuple[bool, str]:
    types = _types(credential)
    if "VerifiableCredential" not in types:
        return False, "type lacks VerifiableCredential"
    if not {"OpenBadgeCredential", "AchievementCredential"} & set(types):
        return False, "type lacks OpenBadgeCredential (or AchievementCredential)"
    return True, "a VerifiableCredential and an OpenBadgeCredential"


def _check_schema(credential: dict[str, Any]) -> tuple[bool, str]:
    errors = validate_schema(_as_arrays(credential, _schema()))
    if errors:
        return False, "; ".join(errors[:5]) + (
            f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        )
    return True, "matches the OB 3.0 AchievementCredential schema"


def _find_proof(document: dict[str, Any]) -> tuple[dict[str, Any] | None, str]:
    proofs = document.get("proof")
    if proofs is None:
        return None, "no proof"
    proofs = proofs if isinstance(proofs, list) else [proofs]
    for proof in proofs:
        if (
            isinstance(proof, dict)
            and proof.get("type") == PROOF_TYPE
            and proof.get("cryptosuite") == CRYPTOSUITE
        ):
            if proof.get("proofPurpose") != PROOF_PURPOSE:
                return None, f"proofPurpose must be {PROOF_PURPOSE}"
            if not isinstance(proof.get("proofValue"), str):
                return None, "proof has no proofValue"
            if not isinstance(proof.get("verificationMethod"), str):
                return None, "proof has no verificationMethod"
            if "created" in proof:
                try:
                    parse_datetime(proof["created"])
                except ValueError as exc:
                    return None, f"proof created: {exc}"
            return proof, f"{PROOF_TYPE} with cryptosuite {CRYPTOSUITE}"
    return None, f"no {PROOF_TYPE} with cryptosuite {CRYPTOSUITE}"


def _resolve_key(
    proof: dict[str, Any], resolve_did: ResolveDid
) -> tuple[Ed25519PublicKey | None, str]:
    method = proof["verificationMethod"]
    controller, _, fragment = method.partition("#")
    try:
        if controller.startswith("did:key:"):
            document = did_key_document(controller)
            if not fragment:
                method = f"{controller}#{controller.removeprefix('did:key:')}"
        elif controller.startswith(("did:web:", "https://")):
            document = resolve_did(controller)
        elif controller.startswith("did:"):
            return None, f"unsupported DID method in {method}"
        else:
            return None, f"verificationMethod is not a did:web, did:key or https URL: {method}"
    except Exception as exc:
        return None, f"could not resolve {controller}: {exc}"
    if not isinstance(document, dict):
        return None, f"{controller} did not resolve"
    if document.get("id") != controller:
        return None, f"DID document id is not {controller}"
    entry = next(
        (
            vm
            for vm in document.get("verificationMethod", [])
            if isinstance(vm, dict) and vm.get("id") in (method, f"#{fragment}")
        ),
        None,
    )
    if entry is None:
        return None, f"{method} is not in the DID document"
    assertion = [
        m if isinstance(m, str) else m.get("id") for m in document.get("assertionMethod", [])
    ]
    if method not in assertion and f"#{fragment}" not in assertion:
        return None, f"{method} is not an assertionMethod of {controller}"
    if entry.get("controller") != controller:
        return None, f"{method} is not controlled by {controller}"
    try:
        key = public_key_from_multibase(entry.get("publicKeyMultibase", ""))
    except ValueError as exc:
        return None, f"{method}: {exc}"
    return key, f"{method} resolved to an Ed25519 key"


def _issuer_id(document: dict[str, Any]) -> Any:
    issuer = document.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _check_issuer_key(credential: dict[str, Any], proof: dict[str, Any] | None) -> tuple[bool, str]:
    if proof is None:
        return False, "no usable proof"
    controller = proof["verificationMethod"].partition("#")[0]
    if controller != _issuer_id(credential):
        return False, f"signing key belongs to {controller}, not to the issuer"
    return True, "signed with a key of the issuer"


def _check_signature(
    document: dict[str, Any], proof: dict[str, Any] | None, key: Ed25519PublicKey | None
) -> tuple[bool, str]:
    if proof is None or key is None:
        return False, "not checked: no usable proof or key"
    value = proof["proofValue"]
    if not value.startswith("z"):
        return False, "proofValue must be base58btc ('z' prefix)"
    signature = base58btc_decode(value[1:])
    if len(signature) != 64:
        return False, "proofValue is not a 64-byte Ed25519 signature"
    proof_context = proof.get("@context")
    if (
        proof_context is not None
        and document.get("@context", [])[: len(proof_context)] != proof_context
    ):
        return False, "proof @context does not match the document's"
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    try:
        key.verify(signature, data_to_sign(unsecured, proof))
    except InvalidSignature:
        return False, "signature does not match the credential"
    except (ContextNotBundled, UndefinedTerm) as exc:
        return False, str(exc)
    except JsonLdError as exc:
        return False, f"JSON-LD processing failed: {exc.args[0] if exc.args else exc}"
    return True, "Ed25519 signature over the RDFC-1.0 canonical form is valid"


def _check_valid_from(document: dict[str, Any], now: datetime) -> tuple[bool, str]:
    if "validFrom" not in document:
        return False, "no validFrom"
    valid_from = parse_datetime(document["validFrom"])
    if now < valid_from:
        return False, f"not valid before {document['validFrom']}"
    return True, f"valid from {document['validFrom']}"


def _check_valid_until(document: dict[str, Any], now: datetime) -> tuple[bool, str]:
    if "validUntil" not in document:
        return True, "no validUntil"
    if now >= parse_datetime(document["validUntil"]):
        return False, f"expired at {document['validUntil']}"
    return True, f"valid until {document['validUntil']}"


def _check_status(
    credential: dict[str, Any],
    resolve_did: ResolveDid,
    fetch_status_list: FetchStatusList,
    now: datetime,
) -> tuple[bool, str]:
    status = credential.get("credentialStatus")
    if status is None:
        return True, "no credentialStatus"
    messages = []
    for entry in status if isinstance(status, list) else [status]:
        passed, message = _check_status_entry(
            entry, credential, resolve_did, fetch_status_list, now
        )
        if not passed:
            return False, message
        messages.append(message)
    return True, "; ".join(messages)


def _check_status_entry(
    entry: dict[str, Any],
    credential: dict[str, Any],
    resolve_did: ResolveDid,
    fetch_status_list: FetchStatusList,
    now: datetime,
) -> tuple[bool, str]:
    if _types(entry) != ["BitstringStatusListEntry"]:
        return False, f"unsupported credentialStatus type {entry.get('type')!r}"
    if str(entry.get("statusSize", 1)) != "1":
        return False, "multi-bit status entries (statusSize > 1) are not supported"
    url = entry["statusListCredential"]
    index = int(entry["statusListIndex"])
    purpose = entry["statusPurpose"]
    status_list = fetch_status_list(url)
    if not isinstance(status_list, dict):
        return False, f"status list {url} could not be fetched"
    if status_list.get("id") != url or "BitstringStatusListCredential" not in _types(status_list):
        return False, f"{url} is not a BitstringStatusListCredential"
    if _issuer_id(status_list) != _issuer_id(credential):
        return False, "status list is not issued by the credential's issuer"
    proof, message = _find_proof(status_list)
    key, message = (None, message) if proof is None else _resolve_key(proof, resolve_did)
    if proof is None or key is None:
        return False, f"status list proof: {message}"
    if proof["verificationMethod"].partition("#")[0] != _issuer_id(status_list):
        return False, "status list is signed with a key not of its issuer"
    passed, message = _check_signature(status_list, proof, key)
    if not passed:
        return False, f"status list signature: {message}"
    for window_check in (_check_valid_from, _check_valid_until):
        passed, message = window_check(status_list, now)
        if not passed:
            return False, f"status list {message}"
    subject = status_list["credentialSubject"]
    if subject.get("statusPurpose") != purpose:
        return False, f"status list purpose is not {purpose}"
    if get_bit(decode_status_list(subject["encodedList"]), index):
        return (
            False,
            f"{purpose} bit {index} is set: the credential is {_PAST.get(purpose, purpose)}",
        )
    return True, f"{purpose} bit {index} is not set"


_PAST = {"revocation": "revoked", "suspension": "suspended"}
