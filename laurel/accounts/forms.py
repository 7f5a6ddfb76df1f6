"""Forms for the organization admin's pages. They parse input; services decide and write."""

from __future__ import annotations

import zoneinfo
from functools import cache

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.contrib.auth.hashers import make_password

from laurel.accounts.models import Organization, Role
from laurel.accounts.services import ServiceError, logo_check
from laurel.lib.widgets import FastSelect


@cache
def time_zone_choices() -> list[tuple[str, str]]:
    # ~600 zones: the fields below render them with FastSelect (Django's template per option
    # cost ~50 ms of CPU a page, bench/render.py).
    return [(name, name) for name in sorted(zoneinfo.available_timezones())]


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(max_length=50, help_text="Short name used in addresses, e.g. northwind.")
    course_id_prefix = forms.CharField(
        label="Course-ID prefix", max_length=8, help_text="2–8 capital letters or digits, e.g. NNA."
    )
    time_zone = forms.TypedChoiceField(
        choices=time_zone_choices, initial="America/New_York", widget=FastSelect
    )
    date_format = forms.ChoiceField(
        choices=Organization.DateFormat.choices, initial=Organization.DateFormat.US
    )
    first_admin_email = forms.EmailField(
        label="First admin's e-mail",
        help_text="Joins at once if an account has verified this address; otherwise invited.",
    )

    def clean_course_id_prefix(self):
        return self.cleaned_data["course_id_prefix"].strip().upper()


class OrganizationSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.SlugField(
        max_length=50, help_text="Changing it changes every address of your organization's pages."
    )
    time_zone = forms.ChoiceField(choices=time_zone_choices, widget=FastSelect)
    course_id_prefix = forms.CharField(
        label="Course-ID prefix",
        max_length=8,
        help_text="Begins every new course ID; existing course IDs keep theirs.",
    )
    date_format = forms.ChoiceField(
        choices=Organization.DateFormat.choices,
        help_text="How dates typed in imports are read when day and month are ambiguous.",
    )
    reply_to = forms.EmailField(
        label="Reply-to address", required=False, help_text="Replies to Laurel's e-mails go here."
    )
    logo = forms.FileField(
        required=False,
        help_text="PNG, JPEG or SVG.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/svg+xml"}),
    )
    require_staff_2fa = forms.BooleanField(
        label="Require two-factor login for admins, reviewers and certification managers",
        required=False,
    )

    def __init__(self, *args, max_logo_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["logo"].help_text = f"PNG, JPEG or SVG, at most {max_logo_bytes // 1024} KB."

    def clean_course_id_prefix(self):
        return self.cleaned_data["course_id_prefix"].strip().upper()

    def clean_logo(self):
        logo = self.cleaned_data.get("logo")
        if logo:  # a new upload (False means "clear", None means "keep")
            try:
                logo_check(logo)
            except ServiceError as exc:
                raise forms.ValidationError(exc.message, code=exc.code)
        return logo


class MemberInviteForm(forms.Form):
    email = forms.EmailField(label="E-mail")
    role = forms.ChoiceField(choices=Role.choices, initial=Role.STAFF)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


def add_service_errors(form: forms.Form, exc: Exception) -> None:
    """Show a service's refusal (``ServiceError`` or a model ``ValidationError``) next to the
    field it is about, or at the top of the form."""
    if isinstance(exc, ServiceError):
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return
    if hasattr(exc, "message_dict"):
        for field, messages in exc.message_dict.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)
        return
    for message in getattr(exc, "messages", [str(exc)]):
        form.add_error(None, message)


def _clean_name(value: str) -> str:
    value = " ".join((value or "").split())
    if "@" in value:
        raise forms.ValidationError("Enter your name as it should appear on certificates.")
    return value


def _clean_time_zone(value: str) -> str:
    value = (value or "").strip()
    return value if value in zoneinfo.available_timezones() else ""


class SignupForm(AllauthSignupForm):
    """allauth's sign-up with the holder's name (printed on certificates and transcripts),
    taking as long for a taken address as for a new one.

    With enumeration prevention allauth answers both alike, but a new account hashes its
    password (most of the time the request takes) and a taken address did not: the delay
    told which addresses have accounts. Hash the password either way."""

    full_name = forms.CharField(
        label="Your full name",
        max_length=200,
        help_text="As it should appear on your certificates and transcripts.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    # Filled by the browser (laurel.js) with its time zone; the profile page changes it.
    time_zone = forms.CharField(required=False, widget=forms.HiddenInput(), max_length=64)

    field_order = ["full_name", "email", "password1", "password2"]

    def clean_full_name(self):
        name = _clean_name(self.cleaned_data.get("full_name"))
        if not name:
            raise forms.ValidationError("Enter your name.")
        return name

    def clean_time_zone(self):
        return _clean_time_zone(self.cleaned_data.get("time_zone"))

    def custom_signup(self, request, user):
        # Before allauth sets up the address, so a certificate waiting for it finds the name.
        user.full_name = self.cleaned_data["full_name"]
        user.time_zone = self.cleaned_data.get("time_zone") or ""
        user.save(update_fields=["full_name", "time_zone"])

    def try_save(self, request):
        if self.account_already_exists:
            make_password(self.cleaned_data.get("password1") or "")
        return super().try_save(request)


class ProfileForm(forms.Form):
    full_name = forms.CharField(
        label="Your full name",
        max_length=200,
        help_text="Printed on certificates issued to you from now on, and on your transcript.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    time_zone = forms.ChoiceField(
        label="Your time zone",
        choices=lambda: [("", "Not set (times show in UTC)"), *time_zone_choices()],
        required=False,
        widget=FastSelect,
        help_text="Times on your locker's pages are shown in this zone.",
    )

    def clean_full_name(self):
        name = _clean_name(self.cleaned_data.get("full_name"))
        if not name:
            raise forms.ValidationError("Enter your name.")
        return name


class NameForm(forms.Form):
    full_name = ProfileForm.base_fields["full_name"]

    clean_full_name = ProfileForm.clean_full_name
