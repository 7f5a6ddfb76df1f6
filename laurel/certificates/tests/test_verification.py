import copy
import json
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from laurel.audit.services import Actor
from laurel.certificates import openbadges, services
from laurel.certificates.tests.conftest import issue
from laurel.lib import ob3
from laurel.lib.ob3_jsonld import parse_datetime

pytestmark = pytest.mark.django_db


def status_bit(client, org, index):
    response = client.get(f"/o/{org.slug}/status-list.json")
    assert response.status_code == 200
    credential = response.json()
    bits = ob3.decode_status_list(credential["credentialSubject"]["encodedList"])
    return ob3.get_bit(bits, index)


def test_verification_page_shows_certificate_without_email(client, org):
    cert = issue(org)
    response = client.get(f"/v/{cert.verification_code}")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Verified" in body
    assert "Maria Schmidt" in body
    assert "Wound Care Essentials" in body
    assert "Northwind Nurses" in body
    assert "2.5 hours of CE" in body
    assert "Checked just now" in body
    assert "maria@example.com" not in body
    assert "linkedin.com/profile/add" in body
    assert f"/v/{cert.verification_code}/certificate.pdf" in body


def test_wrong_code_is_a_404_with_a_friendly_page_and_the_lookup_form(client, org):
    cert = issue(org)
    response = client.get(f"/v/{cert.verification_code[:-1]}x")
    assert response.status_code == 404
    body = response.content.decode()
    assert "We can’t find a certificate with this code" in body
    assert 'name="code"' in body
    looked_up = client.get("/v/check/", {"code": f" {cert.verification_code} "})
    assert looked_up.status_code == 302
    assert looked_up["Location"] == f"/v/{cert.verification_code}"
    assert client.get("/v/nothing-here/credential.json").status_code == 404
    assert client.get("/v/nothing-here/certificate.pdf").status_code == 404


def test_lookups_over_the_limit_get_a_429_page_not_a_404(client, org, settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "verify": "3/3600"}
    cert = issue(org)
    codes = [client.get(f"/v/{cert.verification_code}").status_code for _ in range(3)]
    limited = client.get(f"/v/{cert.verification_code}")
    assert codes == [200, 200, 200]
    # A real verifier behind a busy proxy must not be told the certificate does not exist.
    assert limited.status_code == 429
    assert 0 < int(limited["Retry-After"]) <= 3600
    assert "Too many requests" in limited.content.decode()
    assert "try again in" in limited.content.decode()


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(client, org, settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "verify": "2/3600"}
    settings.TRUSTED_PROXY_COUNT = 1
    cert = issue(org)
    url = f"/v/{cert.verification_code}"
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    # The client may write anything left of what our proxy appended: it is not trusted.
    first = [
        client.get(url, HTTP_X_FORWARDED_FOR=f"{fake}, 203.0.113.7", **proxy).status_code
        for fake in ("1.1.1.1", "2.2.2.2", "3.3.3.3")
    ]
    other = client.get(url, HTTP_X_FORWARDED_FOR="198.51.100.9", **proxy).status_code
    assert first == [200, 200, 429]
    assert other == 200


def test_without_a_trusted_proxy_x_forwarded_for_is_ignored(client, org, settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "verify": "1/3600"}
    settings.TRUSTED_PROXY_COUNT = 0
    cert = issue(org)
    url = f"/v/{cert.verification_code}"
    assert client.get(url, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 200
    assert client.get(url, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429


def _bloated(credential, items):
    bloated = copy.deepcopy(credential)
    bloated["credentialSubject"]["achievement"]["evidence"] = [
        {"id": f"https://example.com/e/{i}", "type": ["Evidence"], "name": f"E{i}"}
        for i in range(items)
    ]
    return bloated


def test_checker_refuses_a_credential_too_large_to_canonicalize_without_trying(client, org):
    cert = issue(org)
    bloated = _bloated(cert.credential, 1000)  # ~90 KB: under the byte cap, over the values cap
    with mock.patch("laurel.lib.ob3.canonicalize") as canonicalize:
        report = client.post("/v/verify", data=bloated, content_type="application/json").json()
    canonicalize.assert_not_called()
    assert report["valid"] is False
    assert "more than 2000 JSON values" in report["checks"][0]["message"]


@pytest.mark.parametrize("kb", [300, 1024])
def test_checker_refuses_large_bodies_and_pastes(client, org, kb):
    text = json.dumps({"padding": "x" * kb * 1024})
    api = client.post("/v/verify", data=text, content_type="application/json")
    assert api.status_code == 413
    assert "256 KB" in api.json()["error"]["message"]
    page = client.post(reverse("certificates:verify_form"), {"credential": text})
    assert "larger than 256 KB" in page.content.decode()


def test_checker_gives_up_after_its_time_budget(client, org):
    cert = issue(org)

    def slow(*args, **kwargs):
        while True:
            pass

    with (
        mock.patch.object(openbadges, "CHECK_SECONDS", 0.3),
        mock.patch("laurel.lib.ob3.canonicalize", side_effect=slow),
    ):
        report = client.post(
            "/v/verify", data=cert.credential, content_type="application/json"
        ).json()
    assert report["valid"] is False
    assert "took longer than 0.3 s" in report["checks"][-1]["message"]


def test_checker_is_rate_limited(client, org, settings):
    settings.LAUREL_RATE_LIMITS = {**settings.LAUREL_RATE_LIMITS, "check": "2/3600"}
    codes = [
        client.post("/v/verify", data={}, content_type="application/json").status_code
        for _ in range(3)
    ]
    page = client.post(reverse("certificates:verify_form"), {"credential": "{}"})
    assert codes == [200, 200, 429]
    assert page.status_code == 429
    assert client.get(reverse("certificates:verify_form")).status_code == 200


def test_linkedin_link_carries_name_org_dates_url_and_id(client, org):
    cert = issue(org)
    body = client.get(f"/v/{cert.verification_code}").content.decode()
    assert "name=Wound+Care+Essentials" in body
    assert "organizationName=Northwind+Nurses" in body
    assert f"issueYear={cert.issue_date.year}" in body
    assert f"certId={cert.serial_number}" in body


def test_public_pdf_downloads(client, org):
    cert = issue(org)
    response = client.get(f"/v/{cert.verification_code}/certificate.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_revoke_flips_the_status_list_bit_and_the_verification_page(client, org, admin):
    cert = issue(org)
    other = issue(org, recipient_email="other@example.com")
    assert status_bit(client, org, cert.status_list_index) is False

    services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Exam fraud")

    assert status_bit(client, org, cert.status_list_index) is True
    assert status_bit(client, org, other.status_list_index) is False
    body = client.get(f"/v/{cert.verification_code}").content.decode()
    assert "Revoked" in body and "Exam fraud" in body
    assert "linkedin.com" not in body
    checks = {c.name: c.passed for c in openbadges.verify_credential(cert.credential)}
    assert checks["status"] is False
    assert checks["signature"] is True


def test_replaced_certificate_page_links_to_the_new_one(client, org, admin):
    cert = issue(org)
    new = services.certificate_replace(
        actor=Actor(user=admin), certificate=cert, reason="Wrong date"
    )
    body = client.get(f"/v/{cert.verification_code}").content.decode()
    assert "Replaced" in body and "Wrong date" in body
    assert f"/v/{new.verification_code}" in body
    assert status_bit(client, org, cert.status_list_index) is True


def test_verification_page_shows_expired_after_the_date(client, org):
    cert = issue(org, expires_on=org.today() + timedelta(days=10))
    later = org.today() + timedelta(days=11)
    with mock.patch.object(type(org), "today", return_value=later):
        body = client.get(f"/v/{cert.verification_code}").content.decode()
    assert "Expired" in body
    assert f"expired on {cert.expires_on:%Y-%m-%d}" in body


def test_credential_validates_against_the_schema_and_verifies(client, org):
    cert = issue(org)
    credential = client.get(f"/v/{cert.verification_code}/credential.json").json()
    assert ob3.validate_schema(credential) == []
    checks = openbadges.verify_credential(credential)
    assert [c.name for c in checks if not c.passed] == []
    assert credential["issuer"]["id"] == "did:web:testserver:o:northwind"
    assert credential["proof"][0]["verificationMethod"].startswith(
        "did:web:testserver:o:northwind#z"
    )
    subject = credential["credentialSubject"]
    assert subject["result"][0]["value"] == "2.5"
    assert "maria@example.com" not in json.dumps(credential)


@pytest.mark.parametrize(
    "path", [("credentialSubject", "achievement", "name"), ("validFrom",), ("issuer", "name")]
)
def test_tampering_one_character_fails_verification(org, path):
    cert = issue(org)
    tampered = copy.deepcopy(cert.credential)
    node = tampered
    for key in path[:-1]:
        node = node[key]
    value = node[path[-1]]
    node[path[-1]] = value[:-1] + ("0" if value[-1] != "0" else "1")
    checks = {c.name: c.passed for c in openbadges.verify_credential(tampered)}
    assert checks["signature"] is False


def test_did_document_is_served_for_the_path_based_did(client, org):
    cert = issue(org)
    did = cert.credential["issuer"]["id"]
    assert ob3.did_web_document_url(did) == "https://testserver/o/northwind/did.json"
    doc = client.get("/o/northwind/did.json").json()
    assert doc["id"] == did
    assert cert.credential["proof"][0]["verificationMethod"] in doc["assertionMethod"]


def test_rotated_key_still_verifies_old_credentials(org):
    cert = issue(org)
    services.signing_key_rotate(actor=Actor.system("t"), organization=org)
    newer = issue(org)
    assert (
        newer.credential["proof"][0]["verificationMethod"]
        != cert.credential["proof"][0]["verificationMethod"]
    )
    for credential in (cert.credential, newer.credential):
        failed = [c for c in openbadges.verify_credential(credential) if not c.passed]
        assert failed == []


def test_private_key_is_encrypted_at_rest(org):
    issue(org)
    key = org.signing_keys.get()
    raw = ob3.private_key_to_bytes(openbadges.decrypt_private_key(key))
    assert raw.hex() not in key.private_key_encrypted
    assert len(raw) == 32


def test_verify_endpoint_reports_each_check(client, org):
    cert = issue(org)
    ok = client.post("/v/verify", data=cert.credential, content_type="application/json").json()
    assert ok["valid"] is True
    assert {c["name"] for c in ok["checks"]} >= {"schema", "signature", "status"}
    tampered = copy.deepcopy(cert.credential)
    tampered["credentialSubject"]["identifier"][1]["identityHash"] = "Mario Schmidt"
    bad = client.post("/v/verify", data=tampered, content_type="application/json").json()
    assert bad["valid"] is False
    assert [c["name"] for c in bad["checks"] if not c["passed"]] == ["signature"]
    assert (
        client.post("/v/verify", data="{not json", content_type="application/json").status_code
        == 400
    )


def test_verify_form_checks_a_pasted_credential(client, org):
    cert = issue(org)
    response = client.post(
        reverse("certificates:verify_form"), {"credential": json.dumps(cert.credential)}
    )
    assert "Every check passed" in response.content.decode()


def test_verify_command_prints_each_check(org, tmp_path, capsys):
    cert = issue(org)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(cert.credential))
    call_command("certificates", "verify", str(path))
    out = capsys.readouterr().out
    assert "signature" in out and "VALID" in out


def test_export_command_writes_one_file_per_certificate(org, outsider_org, tmp_path):
    old = issue(org)
    Certificate = type(old)
    Certificate.objects.filter(pk=old.pk).update(issue_date=old.issue_date - timedelta(days=30))
    new = issue(org, recipient_email="new@example.com")
    issue(outsider_org)

    call_command(
        "certificates",
        "export",
        "--org",
        "northwind",
        "--format",
        "ob3",
        "--out",
        str(tmp_path / "ob3"),
    )
    since = (new.issue_date - timedelta(days=1)).isoformat()
    call_command(
        "certificates",
        "export",
        "--org",
        "northwind",
        "--format",
        "pdf",
        "--out",
        str(tmp_path / "pdf"),
        "--since",
        since,
    )

    assert sorted(p.name for p in (tmp_path / "ob3").iterdir()) == sorted(
        [f"{old.verification_code}.json", f"{new.verification_code}.json"]
    )
    exported = json.loads((tmp_path / "ob3" / f"{new.verification_code}.json").read_text())
    assert all(c.passed for c in openbadges.verify_credential(exported))
    assert [p.name for p in (tmp_path / "pdf").iterdir()] == [f"{new.verification_code}.pdf"]


def test_status_list_is_valid_from_its_last_change_so_a_verifier_reading_now_first_accepts_it(
    org, admin
):
    cert = issue(org)
    services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Fraud")
    cert.refresh_from_db()
    listed = openbadges.status_list(org)
    assert parse_datetime(listed["validFrom"]) == cert.revoked_at.replace(microsecond=0)
    cache.clear()
    assert listed == openbadges.status_list(org)  # same state, same signed list


def test_credential_issued_before_a_slug_change_verifies_after_it(client, org, outsider_org):
    from django.core.exceptions import ValidationError

    from laurel.accounts.services import organization_update

    cert = issue(org)
    old_did = cert.credential["issuer"]["id"]
    organization_update(actor=Actor.system("test"), organization=org, slug="eastwind")
    checks = openbadges.verify_credential(cert.credential)
    assert all(c.passed for c in checks), [c for c in checks if not c.passed]
    did = client.get("/o/northwind/did.json")
    assert did.status_code == 200 and did.json()["id"] == old_did
    status = client.get("/o/northwind/status-list.json").json()
    assert status["id"].endswith("/o/northwind/status-list.json")
    # Revoking after the rename shows under the old status list too.
    services.certificate_revoke(actor=Actor.system("test"), certificate=cert, reason="Error")
    old = client.get("/o/northwind/status-list.json").json()
    bits = ob3.decode_status_list(old["credentialSubject"]["encodedList"])
    assert ob3.get_bit(bits, cert.status_list_index) == 1
    checks = {c.name: c for c in openbadges.verify_credential(cert.credential)}
    assert not checks["status"].passed
    # Nobody else can take the old slug and answer for those credentials.
    with pytest.raises(ValidationError, match="stays theirs"):
        organization_update(actor=Actor.system("test"), organization=outsider_org, slug="northwind")


def test_shared_link_previews_with_the_certificate_image(client, org, settings):
    cert = issue(org)
    body = client.get(f"/v/{cert.verification_code}").content.decode()
    image = f"{settings.SITE_URL}/v/{cert.verification_code}/certificate.png"
    assert f'<meta property="og:image" content="{image}">' in body
    assert '<meta name="twitter:card" content="summary_large_image">' in body
    assert 'property="og:title" content="Maria Schmidt · Wound Care Essentials"' in body
    # The image comes before the facts, and is page one of the certificate as a PNG.
    assert body.index("certificate.png") < body.index("<dl")
    png = client.get(f"/v/{cert.verification_code}/certificate.png")
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    data = png.content
    assert data.startswith(b"\x89PNG")
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > height > 500  # letter landscape
    assert client.get(f"/v/{cert.verification_code}/certificate.png").content == data  # cached


def test_revoked_certificate_leads_with_revoked(client, org, admin):
    cert = issue(org)
    services.certificate_revoke(actor=Actor(user=admin), certificate=cert, reason="Wrong course")
    body = client.get(f"/v/{cert.verification_code}").content.decode()
    assert '<div class="verify-status revoked" role="status">' in body
    assert "Revoked" in body and "Wrong course" in body
    assert "Verified" not in body


def test_credit_lines_read_once_on_the_page_and_in_the_signed_credential(client, org):
    cert = issue(
        org,
        components=[
            services.Component(
                code="CE", name="Contact hours", unit="contact hours", amount=Decimal("1.5")
            )
        ],
    )
    body = client.get(f"/v/{cert.verification_code}").content.decode()
    assert "1.5 contact hours" in body
    assert "Contact hours contact hours" not in body.replace("\n", " ")
    subject = cert.credential["credentialSubject"]
    names = [d["name"] for d in subject["achievement"]["resultDescription"]]
    assert names == ["contact hours"]
    assert openbadges.verify_credential(cert.credential)
    assert all(check.passed for check in openbadges.verify_credential(cert.credential))
