from __future__ import annotations

import zoneinfo

from django import forms

from laurel.recognition.models import Ceremony

DATE = forms.DateInput(attrs={"type": "date"})


class RangeForm(forms.Form):
    range_start = forms.DateField(label="Cohorts ending from", widget=DATE)
    range_end = forms.DateField(label="to", widget=DATE)
    name = forms.CharField(label="Name (optional)", max_length=200, required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("range_start"), data.get("range_end")
        if start and end and end < start:
            self.add_error("range_end", "The range ends before it starts.")
        return data


class DetailsForm(forms.Form):
    day = forms.DateField(label="Ceremony date", widget=DATE)
    at = forms.TimeField(label="Time", widget=forms.TimeInput(attrs={"type": "time"}))
    time_zone = forms.ChoiceField(label="Time zone")
    format = forms.ChoiceField(choices=Ceremony.Format.choices, widget=forms.RadioSelect)
    venue = forms.CharField(max_length=300, required=False, help_text="For an in-person ceremony.")
    representative_requested = forms.BooleanField(
        label="Request a representative of the issuing organization to attend", required=False
    )
    mailing_contact = forms.CharField(label="Mailing contact", max_length=200)
    mailing_email = forms.EmailField(label="Contact's e-mail")
    mailing_address = forms.CharField(
        label="Postal address for the pins", widget=forms.Textarea(attrs={"rows": 3})
    )
    override_reason = forms.CharField(
        label="Reason to schedule sooner than 14 days (issuing organization admins)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, can_override=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(z, z) for z in sorted(zoneinfo.available_timezones())]
        if not can_override:
            del self.fields["override_reason"]


class PinsMailedForm(forms.Form):
    tracking_number = forms.CharField(max_length=100, required=False)


class CanvasForm(forms.Form):
    base_url = forms.URLField(label="Canvas address", assume_scheme="https")
    token = forms.CharField(
        label="API token", widget=forms.PasswordInput(render_value=False), max_length=500
    )
