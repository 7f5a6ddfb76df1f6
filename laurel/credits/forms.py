from decimal import Decimal

from django import forms

from laurel.credits.models import Credit, Dashboard


class CreditEntryForm(forms.Form):
    course_id = forms.CharField(
        label="Course ID",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "placeholder": "NNA-26-00042"}),
    )
    email = forms.EmailField(label="Recipient e-mail")
    name = forms.CharField(label="Recipient name (optional)", max_length=200, required=False)
    completion_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    amount_earned = forms.DecimalField(
        label="Amount earned (only for partial credit)",
        required=False,
        min_value=Decimal(0),
        max_digits=7,
        decimal_places=2,
        help_text="Leave empty for full credit. For a course granting several credit types, "
        "each is reduced in proportion.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=2000
    )


class LedgerFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *Credit.Status.choices], required=False)
    course = forms.CharField(required=False, label="Course ID")
    email = forms.CharField(required=False, label="E-mail contains")
    date_from = forms.DateField(
        required=False, label="Completed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="to", widget=forms.DateInput(attrs={"type": "date"})
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.TextInput())


class DashboardChoiceForm(forms.Form):
    dashboard = forms.ModelChoiceField(
        queryset=Dashboard.objects.none(), required=False, empty_label=None
    )
    new_dashboard = forms.CharField(
        max_length=120, required=False, label="…or a new dashboard named"
    )

    def __init__(self, *args, holder, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["dashboard"].queryset = Dashboard.objects.for_holder(holder).open()

    def clean(self):
        data = super().clean()
        if not data.get("dashboard") and not (data.get("new_dashboard") or "").strip():
            raise forms.ValidationError("Choose a dashboard or name a new one.")
        return data
