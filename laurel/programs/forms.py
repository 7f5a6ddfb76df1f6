from decimal import Decimal

from django import forms

from laurel.programs.models import Enrollment, Requirement

DATE = forms.DateInput(attrs={"type": "date"})


class ProgramForm(forms.Form):
    code = forms.CharField(max_length=32, help_text="Short and unique, e.g. RN-CERT.")
    name = forms.CharField(max_length=200)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    window_months = forms.IntegerField(
        label="Completion window (months from enrollment)", min_value=1, required=False
    )
    window_fixed_date = forms.DateField(label="…or a fixed deadline", required=False, widget=DATE)
    grace_days = forms.IntegerField(label="Grace period (days)", min_value=0, initial=0)
    allow_self_enroll = forms.BooleanField(label="Allow self-enrollment", required=False)
    allow_cancel = forms.BooleanField(label="Allow enrollees to cancel", required=False)
    ordered = forms.BooleanField(label="Requirements must be completed in order", required=False)
    maintenance = forms.BooleanField(
        label="Maintenance program (earning opens the next cycle)", required=False
    )
    certificate_template = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="The organization's default"
    )
    issue_on_earn = forms.BooleanField(label="Issue a certificate on earning", required=False)

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        from laurel.certificates.models import CertificateTemplate

        self.fields["certificate_template"].queryset = CertificateTemplate.objects.filter(
            organization=organization
        )


class RequirementForm(forms.Form):
    # Blank by default so the unused extra rows of the formset submit unchanged.
    kind = forms.ChoiceField(choices=[("", "—"), *Requirement.Kind.choices], required=False)
    title = forms.CharField(max_length=200, required=False)

    def clean(self):
        data = super().clean()
        if data.get("title") and not data.get("kind"):
            self.add_error("kind", "Choose what kind of requirement this is.")
        if data.get("kind") and not data.get("title"):
            self.add_error("title", "Give the requirement a title.")
        return data

    course_ids = forms.CharField(
        label="Course IDs (offering)", required=False, help_text="Comma-separated; any one counts."
    )
    event_ids = forms.CharField(
        label="Event numbers (offering)",
        required=False,
        help_text="Comma-separated, as in the event's address; attending any one counts.",
    )
    credit_type_code = forms.CharField(label="Credit type (hours)", max_length=16, required=False)
    hours = forms.DecimalField(min_value=Decimal("0.01"), required=False)
    needs_grade = forms.BooleanField(required=False)
    min_grade = forms.DecimalField(label="Minimum passing grade", required=False)
    needs_approval = forms.BooleanField(required=False)
    needs_attachment = forms.BooleanField(required=False)


RequirementFormSet = forms.formset_factory(RequirementForm, extra=4, max_num=30)


class EnrollForm(forms.Form):
    people = forms.MultipleChoiceField(
        choices=[], required=False, widget=forms.CheckboxSelectMultiple, label="Connected people"
    )
    emails = forms.CharField(
        label="Or e-mail addresses",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One a line. People without an account are invited; the enrollment waits.",
    )
    enrolled_on = forms.DateField(label="Enrollment date", widget=DATE)

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].choices = [(e, e) for e in people]

    def addresses(self) -> list[str]:
        typed = [line.strip() for line in self.cleaned_data["emails"].splitlines()]
        return [*self.cleaned_data["people"], *[e for e in typed if e]]


class CompletionForm(forms.Form):
    requirement = forms.TypedChoiceField(coerce=int, choices=[])
    completed_on = forms.DateField(label="Completion date", widget=DATE)
    grade = forms.DecimalField(required=False)
    notes = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    attachment = forms.FileField(
        required=False,
        help_text="PDF, PNG or JPEG.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def __init__(self, *args, requirements, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["requirement"].choices = [(r.pk, r.title) for r in requirements]


class DatesForm(forms.Form):
    enrolled_on = forms.DateField(widget=DATE)
    grace_starts_on = forms.DateField(label="Grace period starts", required=False, widget=DATE)
    expires_on = forms.DateField(label="Expiration date", required=False, widget=DATE)


class EnrolleeFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Find an enrollee")
    status = forms.ChoiceField(choices=[("", "Any"), *Enrollment.Status.choices], required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500)
