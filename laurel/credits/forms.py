import re
from decimal import Decimal

from django import forms

from laurel.credits.models import Credit, Dashboard
from laurel.lib.forms import FILTER_MAX
from laurel.lib.widgets import FastSelect


class CreditEntryForm(forms.Form):
    course_id = forms.CharField(
        label="Course",
        max_length=32,
        help_text="Type a course ID or part of its title, then pick the course.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "course-options"}),
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


# "NNA-26-00001 : a@b.org", or tab-, comma- or semicolon-separated as a spreadsheet pastes it.
PAIR_SPLIT = re.compile(r"\s*(?:\t|:|,|;)\s*")
MAX_PAIRS = 2000


def parse_pairs(text: str) -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """(line number, course ID, e-mail, date as written or "") per line, and the problems of
    lines that are not a pair. A first line of column headings is skipped."""
    pairs, problems = [], []
    lines = text.splitlines()
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        parts = [p.strip() for p in PAIR_SPLIT.split(line)]
        if number == 1 and len(parts) >= 2 and "@" not in parts[1] and "mail" in parts[1].lower():
            continue  # headings pasted with the rows
        if len(parts) < 2 or not parts[0] or not parts[1] or len(parts) > 3:
            problems.append(
                f"Line {number} (“{line[:60]}”): write a course ID and an e-mail address, "
                "e.g. NNA-26-00001 : jane@example.org."
            )
            continue
        pairs.append((number, parts[0], parts[1], parts[2] if len(parts) == 3 else ""))
    return pairs, problems


class PairsForm(forms.Form):
    """Course ID : e-mail pairs, one per line (seed 000's bulk entry), as a small import."""

    pairs = forms.CharField(
        label="Course ID : e-mail, one pair per line",
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
        help_text="For example “NNA-26-00001 : jane@example.org”. Columns pasted from a "
        "spreadsheet (separated by tabs or commas) work too; a third column, if any, is the "
        "completion date of that line.",
    )
    completion_date = forms.DateField(
        label="Completion date", widget=forms.DateInput(attrs={"type": "date"})
    )
    suppress_notifications = forms.BooleanField(label="Don't e-mail the recipients", required=False)

    def clean_pairs(self):
        pairs, problems = parse_pairs(self.cleaned_data["pairs"])
        if problems:
            raise forms.ValidationError(problems)
        if not pairs:
            raise forms.ValidationError("Enter at least one course ID : e-mail pair.")
        if len(pairs) > MAX_PAIRS:
            raise forms.ValidationError(
                f"At most {MAX_PAIRS} lines at a time; upload a file for more."
            )
        return pairs


class LedgerFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Credit.Status.choices], required=False, widget=FastSelect
    )
    course = forms.CharField(required=False, label="Course ID or title", max_length=FILTER_MAX)
    email = forms.CharField(
        required=False,
        label="E-mail",
        max_length=FILTER_MAX,
        help_text="A whole address, or how it starts.",
    )
    delivery = forms.ChoiceField(
        choices=[("", "Any delivery"), ("undeliverable", "Undeliverable address")],
        required=False,
        label="Delivery",
        widget=FastSelect,
    )
    date_from = forms.DateField(
        required=False, label="Completed from", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="to", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", "The end date is before the start date.")
        return data


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
        # Neither chosen nor named: the view files into the default dashboard ("My credits").
        return super().clean()


class DashboardForm(forms.Form):
    name = forms.CharField(max_length=120, label="Name")
    required_total = forms.DecimalField(
        label="Total required (optional)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=7,
        decimal_places=2,
        help_text="Across all credit types, counting credits completed in the window below.",
    )
    window_start = forms.DateField(
        label="Window starts", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    window_end = forms.DateField(
        label="Window ends", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    MIN_PREFIX = "min_"

    def __init__(self, data=None, *, holder, dashboard: Dashboard | None = None, **kwargs):
        super().__init__(data, **kwargs)
        from laurel.credits.selectors import holder_credit_types

        current = (
            {m.credit_type_code: m.amount for m in dashboard.minimums.all()} if dashboard else {}
        )
        types = holder_credit_types(holder)
        # A minimum set earlier for a type the holder no longer has stays editable.
        for code in current:
            types.setdefault(code, (code, ""))
        self.minimum_codes = sorted(types)
        for code in self.minimum_codes:
            name, unit = types[code]
            label = code if name in ("", code) else f"{code} — {name}"
            self.fields[self.MIN_PREFIX + code] = forms.DecimalField(
                label=f"Minimum {label}" + (f" ({unit})" if unit else ""),
                required=False,
                min_value=Decimal("0.01"),
                max_value=Decimal("99999"),
                max_digits=7,
                decimal_places=2,
                initial=f"{current[code].normalize():f}" if code in current else None,
            )

    @classmethod
    def for_dashboard(cls, dashboard: Dashboard, data=None, *, holder):
        initial = {
            "name": dashboard.name,
            "required_total": (
                f"{dashboard.required_total.normalize():f}"
                if dashboard.required_total is not None
                else None
            ),
            "window_start": dashboard.window_start,
            "window_end": dashboard.window_end,
        }
        return cls(data, initial=initial, holder=holder, dashboard=dashboard)

    def minimum_fields(self):
        return [self[self.MIN_PREFIX + code] for code in self.minimum_codes]

    def other_fields(self):
        return [f for f in self.visible_fields() if not f.name.startswith(self.MIN_PREFIX)]

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end < start:
            self.add_error("window_end", "The window must end after it starts.")
        return data

    def requirements(self):
        from laurel.credits.services import Requirements

        d = self.cleaned_data
        return Requirements(
            required_total=d.get("required_total"),
            window_start=d.get("window_start"),
            window_end=d.get("window_end"),
            minimums=tuple(
                (code, d[self.MIN_PREFIX + code])
                for code in self.minimum_codes
                if d.get(self.MIN_PREFIX + code)
            ),
        )


def parse_hours(text: str) -> list[tuple[str, Decimal]]:
    """Self-reported hours: ``CE 6, ETH 2`` (also ``ETH: 3`` / ``ETH=3``, or one per line)."""
    out: dict[str, Decimal] = {}
    for raw in text.replace(",", "\n").splitlines():
        line = raw.strip()
        if not line:
            continue
        parts = line.replace(":", " ").replace("=", " ").split()
        if len(parts) != 2:
            raise forms.ValidationError(
                f"“{line}”: write a credit type code and an amount, e.g. ETH 3."
            )
        code, amount = parts[0].upper(), parts[1]
        try:
            value = Decimal(amount)
        except ArithmeticError:
            raise forms.ValidationError(f"“{line}”: {amount} is not a number.") from None
        if not value.is_finite() or value <= 0 or value >= Decimal("100000"):
            raise forms.ValidationError(f"“{line}”: the amount must be more than 0.")
        if len(code) > 16:
            raise forms.ValidationError(f"“{line}”: credit type codes are at most 16 characters.")
        out[code] = value.quantize(Decimal("0.01"))
    return list(out.items())


class SelfReportForm(DashboardChoiceForm):
    """CE earned elsewhere, reported by the holder (with the dashboard to file it in)."""

    title = forms.CharField(label="Activity title", max_length=300)
    provider = forms.CharField(label="Provider (who gave the course)", max_length=200)
    completion_date = forms.DateField(
        label="Completion date", widget=forms.DateInput(attrs={"type": "date"})
    )
    hours = forms.CharField(
        label="Hours per credit type",
        help_text="A credit type code and the hours, e.g. “CE 6, ETH 2”.",
        max_length=500,
    )
    certificate = forms.FileField(
        label="Certificate (PDF, PNG or JPEG; optional)",
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )
    field_order = ["title", "provider", "completion_date", "hours", "certificate"]

    def clean_hours(self):
        return dict(parse_hours(self.cleaned_data["hours"]))
