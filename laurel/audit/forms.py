from django import forms

from laurel.audit.describe import ACTION_CHOICES, OBJECT_CHOICES
from laurel.lib.widgets import FastSelect


class AuditFilterForm(forms.Form):
    """Choices are fixed lists in code: no SELECT DISTINCT over the audit table."""

    person = forms.ChoiceField(required=False, label="Person", widget=FastSelect)
    action = forms.ChoiceField(required=False, label="Action", widget=FastSelect)
    object_type = forms.ChoiceField(required=False, label="Object", widget=FastSelect)
    object_id = forms.CharField(required=False, label="Object number", max_length=64)
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, people: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "Anyone"), *people]
        self.fields["action"].choices = [("", "Any action"), *ACTION_CHOICES]
        self.fields["object_type"].choices = [("", "Any object"), *OBJECT_CHOICES]
