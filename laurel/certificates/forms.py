from __future__ import annotations

from django import forms

from laurel.certificates.models import CertificatePolicy, CertificateTemplate, Design, Paper
from laurel.certificates.openbadges import MAX_CREDENTIAL_BYTES
from laurel.lib.forms import FILTER_MAX


class CertificateFilterForm(forms.Form):
    q = forms.CharField(
        label="Search",
        required=False,
        max_length=FILTER_MAX,
        help_text="Name, e-mail, serial or title",
    )
    status = forms.ChoiceField(
        required=False,
        choices=[
            ("", "Any status"),
            ("valid", "Valid"),
            ("expired", "Expired"),
            ("revoked", "Revoked"),
            ("replaced", "Replaced"),
        ],
    )
    course = forms.CharField(label="Course ID", required=False, max_length=FILTER_MAX)
    issued_from = forms.DateField(
        label="Issued from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    issued_to = forms.DateField(
        label="Issued to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class IssueForm(forms.Form):
    recipient_email = forms.EmailField(label="Recipient e-mail")
    recipient_name = forms.CharField(
        label="Recipient name", max_length=200, help_text="As it should appear on the certificate."
    )
    title = forms.CharField(label="What it is for", max_length=300)
    completion_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    credit_type = forms.CharField(
        label="Credit type", required=False, max_length=100, help_text="E.g. CE (optional)"
    )
    credit_unit = forms.CharField(label="Unit", required=False, max_length=40, initial="hours")
    credit_amount = forms.DecimalField(
        label="Amount", required=False, min_value=0, max_digits=7, decimal_places=2
    )
    expires_on = forms.DateField(
        label="Expires on", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    template = forms.ModelChoiceField(queryset=CertificateTemplate.objects.none(), required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CertificateTemplate.objects.filter(
            organization=organization
        )
        self.fields["template"].empty_label = "Default template"

    def clean(self):
        data = super().clean()
        if data.get("credit_amount") is not None and not data.get("credit_type"):
            self.add_error("credit_type", "Name the credit type of the amount.")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)


class ReplaceForm(forms.Form):
    reason = forms.CharField(max_length=500, help_text="Kept with the old certificate.")
    recipient_name = forms.CharField(max_length=200)
    title = forms.CharField(label="What it is for", max_length=300)
    completion_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    design = forms.ChoiceField(choices=Design.choices, widget=forms.RadioSelect)
    paper = forms.ChoiceField(choices=Paper.choices)
    accent_color = forms.RegexField(
        label="Accent colour",
        regex=r"^#[0-9a-fA-F]{6}$",
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": "A colour like #1f4e79."},
    )
    signatory_name = forms.CharField(max_length=120, required=False)
    signatory_title = forms.CharField(max_length=120, required=False)
    footer_text = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="E.g. the accreditation statement.",
    )
    logo = forms.FileField(required=False, help_text="PNG or SVG, at most 2 MB.")
    clear_logo = forms.BooleanField(label="Remove the logo", required=False)
    signature = forms.FileField(
        label="Signature image", required=False, help_text="PNG or SVG, at most 2 MB."
    )
    clear_signature = forms.BooleanField(label="Remove the signature image", required=False)


class PolicyForm(forms.Form):
    issue_on = forms.ChoiceField(choices=CertificatePolicy.IssueOn.choices)
    template = forms.ModelChoiceField(queryset=CertificateTemplate.objects.none(), required=False)
    expires_after_days = forms.IntegerField(min_value=1, max_value=36500, required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = CertificateTemplate.objects.filter(
            organization=organization
        )
        self.fields["template"].empty_label = "Default template"


class VerifyForm(forms.Form):
    credential = forms.CharField(
        label="Credential JSON",
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
    )
    file = forms.FileField(label="…or upload the .json file", required=False)

    def clean_credential(self):
        # The same cap as the upload, in bytes: canonicalizing a huge paste is the cost.
        text = self.cleaned_data["credential"]
        if len(text.encode("utf-8")) > MAX_CREDENTIAL_BYTES:
            raise forms.ValidationError(
                f"The credential is larger than {MAX_CREDENTIAL_BYTES // 1024} KB."
            )
        return text
