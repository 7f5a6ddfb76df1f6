from django import forms


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What will use this key, e.g. “LMS sync”. Shown in the list and audit trail.",
    )
