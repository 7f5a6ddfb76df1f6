import zoneinfo
from datetime import datetime

from django import forms

from laurel.events.models import Event, Registration

LOCAL = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class EventForm(forms.Form):
    """Times are typed as wall-clock times in the event's time zone."""

    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    starts_at = forms.DateTimeField(label="Starts", widget=LOCAL)
    ends_at = forms.DateTimeField(label="Ends", widget=LOCAL)
    time_zone = forms.CharField(max_length=64, help_text="E.g. America/Chicago.")
    format = forms.ChoiceField(choices=Event.Format.choices)
    venue = forms.CharField(max_length=200, required=False)
    address = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    join_url = forms.URLField(label="Join link (online)", required=False, assume_scheme="https")
    capacity = forms.IntegerField(
        min_value=1, required=False, help_text="Empty for no limit; beyond it people wait."
    )
    visibility = forms.ChoiceField(choices=Event.Visibility.choices)
    registration_open = forms.BooleanField(label="Registration open", required=False)
    certificate_issue = forms.ChoiceField(
        label="Certificates", choices=Event.CertificateIssue.choices
    )
    certificate_template = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="The organization's default"
    )
    minimum_minutes = forms.IntegerField(
        label="Minimum minutes (online attendance reports)", min_value=0, required=False
    )
    partial_credit = forms.BooleanField(
        label="Partial credit in proportion to minutes attended", required=False
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        from laurel.certificates.models import CertificateTemplate

        self.fields["certificate_template"].queryset = CertificateTemplate.objects.filter(
            organization=organization
        )

    def clean_time_zone(self):
        value = self.cleaned_data["time_zone"].strip()
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError("Not a known time zone (e.g. America/New_York).")
        return value

    def clean(self):
        data = super().clean()
        tz = data.get("time_zone")
        if tz:
            for name in ("starts_at", "ends_at"):
                value: datetime | None = data.get(name)
                if value is not None:
                    data[name] = value.replace(tzinfo=None).replace(tzinfo=zoneinfo.ZoneInfo(tz))
        return data

    @classmethod
    def initial_for(cls, event: Event) -> dict:
        from laurel.events.services import EVENT_FIELDS

        data = {name: getattr(event, name) for name in EVENT_FIELDS}
        data["starts_at"] = event.local_start.replace(tzinfo=None)
        data["ends_at"] = event.local_end.replace(tzinfo=None)
        return data


class TrackForm(forms.Form):
    name = forms.CharField(max_length=100, label="Track name", help_text="E.g. COEC 3.0.")


class SessionForm(forms.Form):
    title = forms.CharField(max_length=300, label="Session title")
    starts_at = forms.DateTimeField(label="Starts", widget=LOCAL)
    ends_at = forms.DateTimeField(label="Ends", widget=LOCAL)


class ComponentForm(forms.Form):
    credit_type = forms.ModelChoiceField(queryset=None)
    amount = forms.DecimalField(min_value=0.01, max_digits=7, decimal_places=2)
    track = forms.ModelChoiceField(queryset=None, required=False, empty_label="Everyone")
    session = forms.ModelChoiceField(queryset=None, required=False, empty_label="The whole event")

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credit_type"].queryset = event.organization.credit_types.all()
        self.fields["track"].queryset = event.tracks.all()
        self.fields["session"].queryset = event.sessions.all()


class RegistrationTypeForm(forms.Form):
    name = forms.CharField(max_length=100, label="Registration type")
    price_label = forms.CharField(
        max_length=60, required=False, label="Price label", help_text="Empty means free."
    )


class RegisterForm(forms.Form):
    email = forms.EmailField()
    name = forms.CharField(max_length=200, required=False)
    member_id = forms.CharField(
        max_length=64, required=False, label="Member ID", help_text="E.g. an NRDS number."
    )
    track = forms.ModelChoiceField(queryset=None, required=False, empty_label="(none)")
    registration_type = forms.ModelChoiceField(queryset=None, required=False, empty_label="(none)")

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["track"].queryset = event.tracks.all()
        self.fields["registration_type"].queryset = event.registration_types.all()


class AttendanceForm(forms.Form):
    state = forms.ChoiceField(
        choices=[(s, Registration.Status(s).label) for s in
                 ("attended", "registered", "no_show", "cancelled")]
    )  # fmt: skip
    scope = forms.ChoiceField(
        choices=[("selected", "Selected"), ("all_registered", "All registered")],
        initial="selected",
    )
    notify = forms.BooleanField(required=False, initial=True, label="E-mail the attendees")


class CheckInForm(forms.Form):
    code = forms.CharField(max_length=40, label="Check-in code")
