"""The organization admin's settings page: fields, slug change, logo checks, 2FA toggle."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from laurel.accounts.models import Organization, Role
from laurel.audit.models import AuditEvent
from tests.factories import make_member, make_org, png_bomb

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return make_org("northwind", name="Northwind", course_id_prefix="NNA")


@pytest.fixture
def admin(org):
    return make_member(org, Role.ADMIN, "admin@northwind.test")


def _url(org):
    return reverse("accounts:org_settings", args=[org.slug])


def _data(org, **overrides):
    data = {
        "name": org.name,
        "slug": org.slug,
        "time_zone": org.time_zone,
        "course_id_prefix": org.course_id_prefix,
        "date_format": org.date_format,
        "reply_to": org.reply_to,
    }
    data.update(overrides)
    return data


def _png(size=(8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, "green").save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "blue").save(buffer, "JPEG")
    return buffer.getvalue()


SAFE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>'  # noqa: E501


def test_admin_sees_current_settings(client, org, admin):
    client.force_login(admin)
    page = client.get(_url(org)).content.decode()
    assert 'value="Northwind"' in page and 'value="NNA"' in page
    assert '<option value="Europe/Paris">' in page  # the time-zone select lists zoneinfo names


@pytest.mark.parametrize("role", [Role.STAFF, Role.REVIEWER, Role.CERT_MANAGER])
def test_other_roles_get_404(client, org, role):
    client.force_login(make_member(org, role))
    assert client.get(_url(org)).status_code == 404


def test_admin_of_another_organization_gets_404(client, org):
    client.force_login(make_member(make_org("other"), Role.ADMIN))
    assert client.get(_url(org)).status_code == 404
    assert client.post(_url(org), _data(org, name="Hijacked")).status_code == 404
    org.refresh_from_db()
    assert org.name == "Northwind"


def test_saving_settings_changes_them_and_audits(client, org, admin):
    client.force_login(admin)
    response = client.post(
        _url(org),
        _data(
            org,
            name="Northwind Nurses",
            time_zone="Europe/Paris",
            date_format="INTL",
            reply_to="office@northwind.test",
            require_staff_2fa="on",
        ),
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "Northwind Nurses" and org.time_zone == "Europe/Paris"
    assert org.date_format == "INTL" and org.reply_to == "office@northwind.test"
    assert org.require_staff_2fa is True
    event = AuditEvent.objects.get(action="organization.updated")
    assert event.before["name"] == "Northwind" and event.after["name"] == "Northwind Nurses"


def test_changing_slug_redirects_to_new_address(client, org, admin):
    client.force_login(admin)
    response = client.post(_url(org), _data(org, slug="nwna"))
    assert response["Location"] == "/o/nwna/settings/"
    assert client.get("/o/nwna/settings/").status_code == 200
    assert client.get("/o/northwind/settings/").status_code == 404


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"time_zone": "Moon/Base"}, "Select a valid choice. Moon/Base is not one of"),
        ({"slug": "taken"}, "Organization with this Slug already exists."),
        ({"course_id_prefix": "TAK"}, "Organization with this Course id prefix already exists."),
        ({"course_id_prefix": "a"}, "2–8 capital letters or digits"),
        ({"reply_to": "nope"}, "Enter a valid email address."),
        ({"name": ""}, "This field is required."),
    ],
)
def test_invalid_settings_show_error_next_to_field(client, org, admin, overrides, error):
    make_org("taken", course_id_prefix="TAK")
    client.force_login(admin)
    response = client.post(_url(org), _data(org, **overrides))
    assert response.status_code == 200
    assert error in response.content.decode()
    org.refresh_from_db()
    assert org.slug == "northwind" and org.course_id_prefix == "NNA"


@pytest.mark.parametrize(
    ("content", "ext"), [(_png(), ".png"), (_jpeg(), ".jpg"), (SAFE_SVG, ".svg")]
)
def test_logo_upload_is_stored_under_a_name_laurel_chooses(client, org, admin, content, ext):
    client.force_login(admin)
    upload = SimpleUploadedFile("../../evil name.exe", content, content_type="text/plain")
    response = client.post(_url(org), {**_data(org), "logo": upload})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.logo.name.startswith("logos/") and org.logo.name.endswith(ext)
    assert "evil" not in org.logo.name
    stored = org.logo.read()
    if ext == ".svg":
        assert b"<rect" in stored and b"<svg" in stored
    else:  # re-encoded: the same picture, nothing else the file carried
        assert Image.open(io.BytesIO(stored)).size == Image.open(io.BytesIO(content)).size


def test_logo_claiming_huge_dimensions_is_refused_not_a_500(client, org, admin):
    client.force_login(admin)
    upload = SimpleUploadedFile("logo.png", png_bomb(100_000, 100_000))
    response = client.post(_url(org), {**_data(org), "logo": upload})
    assert response.status_code == 200
    assert "more pixels than any logo needs" in response.content.decode()
    # Under Pillow's own threshold but over what a logo needs: refused by its header.
    upload = SimpleUploadedFile("logo.png", png_bomb(5000, 5000))
    response = client.post(_url(org), {**_data(org), "logo": upload})
    assert "more pixels than any logo needs" in response.content.decode()
    org.refresh_from_db()
    assert not org.logo


def test_svg_logo_is_stored_sanitised(client, org, admin):
    client.force_login(admin)
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script>'
        b'<a href="javascript:alert(3)"><rect width="4" height="4"/></a></svg>'
    )
    client.post(_url(org), {**_data(org), "logo": SimpleUploadedFile("l.svg", svg)})
    org.refresh_from_db()
    stored = org.logo.read()
    assert b"<rect" in stored
    assert b"alert" not in stored


def test_oversize_logo_is_refused_with_field_error(client, org, admin, settings):
    settings.LAUREL_LOGO_MAX_BYTES = 1024
    client.force_login(admin)
    upload = SimpleUploadedFile("logo.png", _png((400, 400)) + b"\0" * 2048)
    response = client.post(_url(org), {**_data(org, name="Changed"), "logo": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_logo_error"' in page and "The logo is too large: at most 1 KB" in page
    org.refresh_from_db()
    assert not org.logo and org.name == "Northwind"


@pytest.mark.parametrize(
    "content",
    [
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00;",
        b"%PDF-1.7 not an image",
        b'<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY x "y">]><svg>&x;</svg>',
        b"\x89PNG\r\n\x1a\nbut truncated garbage",
        b"<html><body>not svg</body></html>",
    ],
)
def test_logo_of_wrong_type_is_refused_whatever_its_name(client, org, admin, content):
    client.force_login(admin)
    upload = SimpleUploadedFile("logo.png", content, content_type="image/png")
    response = client.post(_url(org), {**_data(org), "logo": upload})
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="id_logo_error"' in page
    assert "The logo cannot be used" in page
    org.refresh_from_db()
    assert not org.logo


def test_logo_can_be_cleared(client, org, admin):
    client.force_login(admin)
    client.post(_url(org), {**_data(org), "logo": SimpleUploadedFile("a.png", _png())})
    org.refresh_from_db()
    assert org.logo
    client.post(_url(org), {**_data(org), "logo-clear": "on"})
    org.refresh_from_db()
    assert not org.logo


def test_settings_post_without_csrf_token_is_refused(org, admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post(_url(org), _data(org, name="Changed")).status_code == 403
    assert Organization.objects.get(pk=org.pk).name == "Northwind"
