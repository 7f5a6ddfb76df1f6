from django import forms
from django.conf import settings

from laurel.imports.kinds import KINDS
from laurel.imports.models import ImportJob


class UploadForm(forms.Form):
    file = forms.FileField(
        label="File",
        help_text="CSV, TSV or Excel .xlsx. Any number of rows.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.tsv,.txt,.xlsx"}),
    )
    kind = forms.ChoiceField(label="The file contains", choices=ImportJob.Kind.choices)
    verify_only = forms.BooleanField(
        label="Verify only: check the file and e-mail me the report; change nothing",
        required=False,
    )
    suppress_notifications = forms.BooleanField(
        label="Don't e-mail the recipients about this batch", required=False
    )
    event = forms.ModelChoiceField(
        queryset=None,
        required=False,
        label="Event (attendee files)",
        help_text="The event a roster or a Zoom or Teams attendance report is for.",
    )
    status = forms.ChoiceField(
        required=False,
        label="Status for the whole file (attendee files)",
        choices=[
            ("", "— from the file's Status column —"),
            ("attended", "Attended"),
            ("registered", "Registered"),
            ("no_show", "No-show"),
            ("cancelled", "Cancelled"),
        ],
        help_text="A Zoom or Teams report needs none: whoever stayed long enough attended.",
    )

    def __init__(self, *args, organization=None, kinds=None, **kwargs):
        super().__init__(*args, **kwargs)
        from laurel.events.models import Event

        if kinds is not None:
            field = self.fields["kind"]
            field.choices = [c for c in ImportJob.Kind.choices if c[0] in kinds]
            if len(field.choices) == 1:
                field.initial = field.choices[0][0]

        events = Event.objects.for_org(organization) if organization else Event.objects.none()
        self.fields["event"].queryset = events
        self.fields["event"].label_from_instance = lambda e: f"{e.title} ({e.local_start:%Y-%m-%d})"

    def clean(self):
        data = super().clean()
        if data.get("kind") == ImportJob.Kind.ATTENDEES and not data.get("event"):
            self.add_error("event", "Choose the event the attendees came to.")
        return data

    def kind_options(self) -> dict | None:
        if self.cleaned_data["kind"] != ImportJob.Kind.ATTENDEES:
            return None
        return {"event": self.cleaned_data["event"].pk, "status": self.cleaned_data["status"]}

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.LAUREL_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1e6:.1f} MB; the largest accepted is "
                f"{limit / 1e6:.0f} MB."
            )
        return upload


class MappingForm(forms.Form):
    """One choice per heading in the file: which field it holds, or "not imported"."""

    save = forms.BooleanField(label="Remember this mapping for the next file", required=False)

    def __init__(self, *args, headings, kind, initial_mapping=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", "— not imported —")] + [
            (f.name, f.label + ("" if f.required else " (optional)")) for f in KINDS[kind].fields
        ]
        self.headings = headings
        for index, heading in enumerate(headings):
            self.fields[f"col_{index}"] = forms.ChoiceField(
                label=heading,
                choices=choices,
                required=False,
                initial=(initial_mapping or {}).get(heading, ""),
            )
        self.order_fields([f"col_{i}" for i in range(len(headings))] + ["save"])

    def mapping(self) -> dict[str, str | None]:
        return {
            heading: self.cleaned_data.get(f"col_{i}") or None
            for i, heading in enumerate(self.headings)
        }


class RosterForm(forms.Form):
    """A course provider's attendance roster for one of its approved courses."""

    course = forms.ModelChoiceField(queryset=None, label="Approved course")
    file = UploadForm.base_fields["file"]

    def __init__(self, *args, courses, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["course"].queryset = courses
        self.fields["course"].label_from_instance = lambda c: (
            f"{c.course_id} {c.title} ({c.organization.name})"
        )

    clean_file = UploadForm.clean_file
