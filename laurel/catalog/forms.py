"""Forms for credit types and courses. They parse input; services decide and write."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import forms

from laurel.catalog.models import (
    ApplicationQuestion,
    Audience,
    Course,
    CreditType,
)
from laurel.lib.forms import FILTER_MAX


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
    q = forms.CharField(required=False, label="Course ID or title", max_length=FILTER_MAX)


# --- Providers and applications ---------------------------------------------------------------


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=200, label="Provider name")
    slug = forms.SlugField(
        max_length=50, label="Short name", help_text="Used in addresses, e.g. brightpath."
    )


def _lines(text: str) -> list[list[str]]:
    return [[p.strip() for p in line.split("|")] for line in text.splitlines() if line.strip()]


class ApplicationForm(forms.Form):
    """The generic application. Lists are typed one item per line, parts split by "|"."""

    title = forms.CharField(max_length=300)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    objectives = forms.CharField(
        label="Learning objectives",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One per line.",
    )
    delivery_format = forms.ChoiceField(
        label="Format", choices=Course.Format.choices, initial=Course.Format.SELF_PACED
    )
    sessions = forms.CharField(
        label="Dates and locations",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="For live formats, one per line: 2026-09-01 | Columbus, OH",
    )
    agenda = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="One part per line: minutes | part, e.g. 30 | Introduction",
    )
    instructors = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="One per line: name | credentials | short bio",
    )
    target_audience = forms.CharField(max_length=300, required=False)
    requested_credit = forms.CharField(
        required=False, help_text="Per credit type, e.g. CE 2.5, ETH 1"
    )

    @classmethod
    def initial_from(cls, app) -> dict:
        return {
            "title": app.title,
            "description": app.description,
            "objectives": app.objectives,
            "delivery_format": app.delivery_format,
            "sessions": "\n".join(f"{s['date']} | {s['location']}" for s in app.sessions),
            "agenda": "\n".join(f"{p['minutes']} | {p['part']}" for p in app.agenda),
            "instructors": "\n".join(
                " | ".join([i["name"], i["credentials"], i["bio"]]) for i in app.instructors
            ),
            "target_audience": app.target_audience,
            "requested_credit": ", ".join(f"{k} {v}" for k, v in app.requested_credit.items()),
        }

    def clean_sessions(self):
        out = []
        for parts in _lines(self.cleaned_data["sessions"]):
            try:
                day = date.fromisoformat(parts[0])
            except ValueError:
                raise forms.ValidationError(f"{parts[0]!r} is not a date (YYYY-MM-DD).")
            out.append({"date": day.isoformat(), "location": " ".join(parts[1:2])})
        return out

    def clean_agenda(self):
        out = []
        for parts in _lines(self.cleaned_data["agenda"]):
            if len(parts) < 2 or not parts[0].isdigit() or int(parts[0]) <= 0:
                raise forms.ValidationError("Each line: minutes | part, e.g. 30 | Introduction.")
            out.append({"minutes": int(parts[0]), "part": parts[1]})
        return out

    def clean_instructors(self):
        out = []
        for parts in _lines(self.cleaned_data["instructors"]):
            parts += ["", "", ""]
            if not parts[0]:
                raise forms.ValidationError("Each line starts with the instructor's name.")
            out.append({"name": parts[0], "credentials": parts[1], "bio": parts[2]})
        return out

    def clean_requested_credit(self):
        return parse_credit(self.cleaned_data["requested_credit"])


def parse_credit(text: str) -> dict[str, str]:
    """ "CE 2.5, ETH 1" → {"CE": "2.5", "ETH": "1"}."""
    out = {}
    for item in text.replace(";", ",").split(","):
        if not item.strip():
            continue
        parts = item.split()
        try:
            amount = Decimal(parts[1]) if len(parts) == 2 else None
        except ArithmeticError:
            amount = None
        if amount is None or amount <= 0:
            raise forms.ValidationError(f"{item.strip()!r}: write the type and amount, CE 2.")
        out[parts[0].upper()] = str(amount)
    return out


class AttachmentForm(forms.Form):
    file = forms.FileField(label="Attachment (PDF)")


def answer_field(question) -> forms.Field:
    kind = question.kind
    common = {"label": question.label, "required": False}
    if kind == "choice":
        return forms.ChoiceField(choices=[("", "—"), *[(c, c) for c in question.choices]], **common)
    if kind == "yes_no":
        return forms.ChoiceField(choices=[("", "—"), ("yes", "Yes"), ("no", "No")], **common)
    if kind == "file":
        return forms.FileField(**common)
    return forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), **common)


class CommentForm(forms.Form):
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))
    internal = forms.BooleanField(
        label="Internal (only this organization sees it)", required=False, initial=True
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[
            ("approve", "Approve"),
            ("request_changes", "Request changes"),
            ("deny", "Deny (final)"),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        help_text="Required to request changes or deny; the provider reads it.",
    )
    credit = forms.CharField(
        label="Approved credit",
        required=False,
        help_text="Per credit type, e.g. CE 2.5, ETH 1 (may differ from the request).",
    )
    active_from = forms.DateField(
        label="Valid from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    active_until = forms.DateField(
        label="Valid until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_credit(self):
        return parse_credit(self.cleaned_data["credit"])


class QuestionForm(forms.Form):
    label = forms.CharField(max_length=300, label="Question")
    kind = forms.ChoiceField(choices=ApplicationQuestion.Kind.choices)
    choices = forms.CharField(required=False, help_text="For a choice question: one per line.")
    required = forms.BooleanField(required=False, initial=True)
    order = forms.IntegerField(min_value=0, initial=0)

    def clean_choices(self):
        return [c.strip() for c in self.cleaned_data["choices"].splitlines() if c.strip()]


class ReviewPolicyForm(forms.Form):
    two_reviewers = forms.BooleanField(
        required=False, label="An approval needs two different reviewers"
    )
    require_provider_approval = forms.BooleanField(
        required=False, label="Providers must be approved before they submit courses"
    )
    max_credit = forms.CharField(
        required=False,
        label="Most credit per course",
        help_text="Per credit type, e.g. CE 8, ETH 3. Empty: no limit.",
    )

    def clean_max_credit(self):
        return parse_credit(self.cleaned_data["max_credit"])


class CribSheetForm(forms.Form):
    title = forms.CharField(max_length=200)
    audience = forms.ChoiceField(choices=Audience.choices)
    order = forms.IntegerField(min_value=0, initial=0)
    file = forms.FileField(label="PDF")


class InstructionTextForm(forms.Form):
    markdown = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text="Markdown: **bold**, lists, [links](https://…). No HTML.",
    )
