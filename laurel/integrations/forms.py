from django import forms

from laurel.integrations.events import EVENT_TYPES


class EndpointForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        help_text="An https:// address of your receiver. Laurel POSTs signed JSON to it.",
    )
    description = forms.CharField(label="Description", max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[(t, t) for t in EVENT_TYPES],
        widget=forms.CheckboxSelectMultiple,
        initial=list(EVENT_TYPES),
    )
