"""Forms for credit types and courses. They parse input; services decide and write."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from laurel.catalog.models import Course, CreditType


class CreditTypeForm(forms.Form):
    code = forms.CharField(
        max_length=16, help_text="Capital letters, digits and _, e.g. COEC. Cannot change later."
    )
    name = forms.CharField(max_length=100, help_text="e.g. Continuing education hours")
    unit = forms.CharField(max_length=40, initial="hours")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            # Issued credit names the code; changing it would rewrite history.
            self.fields["code"].disabled = True
            self.fields["code"].help_text = "The code cannot change once credit types exist."

    def clean_code(self):
        return self.cleaned_data["code"].strip().upper()


class CourseForm(forms.Form):
    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    delivery_format = forms.ChoiceField(
        choices=Course.Format.choices, initial=Course.Format.SELF_PACED
    )
    active_from = forms.DateField(
        label="First completion date",
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The earliest completion date that may be credited.",
    )
    active_until = forms.DateField(
        label="Last completion date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty while the course runs.",
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("active_from"), data.get("active_until")
        if start and end and end < start:
            self.add_error("active_until", "Must be on or after the first completion date.")
        return data


class ComponentForm(forms.Form):
    credit_type = forms.ModelChoiceField(queryset=CreditType.objects.none(), required=False)
    amount = forms.DecimalField(
        required=False, min_value=Decimal("0.01"), max_digits=7, decimal_places=2
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credit_type"].queryset = CreditType.objects.filter(organization=organization)
        self.fields["credit_type"].empty_label = "—"

    def clean(self):
        data = super().clean()
        credit_type, amount = data.get("credit_type"), data.get("amount")
        if credit_type and amount is None and "amount" not in self.errors:
            self.add_error("amount", "Enter the amount of this credit type.")
        if amount is not None and not credit_type:
            self.add_error("credit_type", "Choose the credit type for this amount.")
        return data


class BaseComponentFormSet(forms.BaseFormSet):
    """Rows of credit type + amount; blank rows are ignored, at least one is needed."""

    def clean(self):
        if any(self.errors):
            return
        seen = set()
        for form in self.forms:
            credit_type = form.cleaned_data.get("credit_type")
            if not credit_type:
                continue
            if credit_type in seen:
                raise forms.ValidationError(f"{credit_type.code} is listed twice.")
            seen.add(credit_type)
        if not seen:
            raise forms.ValidationError("A course grants at least one credit type.")

    def components(self) -> dict[CreditType, Decimal]:
        return {
            f.cleaned_data["credit_type"]: f.cleaned_data["amount"]
            for f in self.forms
            if f.cleaned_data.get("credit_type")
        }


def component_formset(*, organization, data=None, initial=None, blank_rows: int = 3):
    rows = list(initial or [])
    formset_class = forms.formset_factory(
        ComponentForm,
        formset=BaseComponentFormSet,
        extra=blank_rows,
        max_num=20,
        validate_max=True,
    )
    return formset_class(
        data, initial=rows, prefix="components", form_kwargs={"organization": organization}
    )


class CourseSearchForm(forms.Form):
    q = forms.CharField(required=False, label="Course ID or title")
