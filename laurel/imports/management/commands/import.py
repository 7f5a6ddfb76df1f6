"""``laurel import credits|certificates|progress|attendees FILE --org SLUG``: validate,
preview counts, commit. Attendees need ``--event ID`` (and ``--status`` when the file has
no status column); a Zoom or Teams attendance report is recognised by its content.

Exit status: 0 success, 1 some rows were rejected (problems in the file), 2 unusable input.
"""

from __future__ import annotations

import json
import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from laurel.accounts.models import Organization, User
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.imports import services
from laurel.imports.kinds import KINDS
from laurel.imports.models import ImportJob, ImportRow

LABELS = [
    ("rows", "Rows read"),
    ("deliverable", "Will be delivered and notified"),
    ("invite", "Will be delivered; e-mail will be invited"),
    ("unknown_course", "Course ID not recognised"),
    ("invalid", "Invalid"),
    ("duplicate_in_file", "Repeated in this file"),
    ("duplicate_existing", "Already in the ledger"),
    ("undeliverable", "Known undeliverable address"),
]
AFTER = [
    ("offered", "Delivered, offered to an account"),
    ("held", "Delivered, held for the e-mail address"),
    ("issued", "Certificates issued"),
    ("skipped_duplicate", "Skipped as duplicates"),
    ("marked", "Attendance statuses set"),
    ("registered", "Registered by the import"),
]


class Command(BaseCommand):
    help = "Import a CSV, TSV or XLSX file: validate it, print the preview, commit it."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("file")
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("--verify-only", action="store_true")
        parser.add_argument("--suppress-notifications", action="store_true")
        parser.add_argument("--yes", action="store_true", help="Commit without asking")
        parser.add_argument("--json", action="store_true", help="Print one JSON summary")
        parser.add_argument("--user", help="E-mail of the member to record as the uploader")
        parser.add_argument("--event", help="Attendees: the id of the event")
        parser.add_argument(
            "--status",
            help="Attendees: one status for the whole file (Attended, Registered, No-show,"
            " Cancelled) when it has no status column",
        )

    def handle(self, *args, **opts):
        self.as_json = opts["json"]
        org = Organization.objects.filter(slug=opts["org"]).first()
        if org is None:
            return self.fail(f"No organization {opts['org']!r}.")
        actor = Actor.system("command line")
        if opts["user"]:
            user = User.objects.filter(email__iexact=opts["user"], memberships__organization=org)
            if not user.exists():
                return self.fail(f"{opts['user']} is not a member of {org.slug}.")
            actor = Actor(user=user.first())
        path = opts["file"]
        try:
            size = os.path.getsize(path)
            if size > settings.LAUREL_IMPORT_MAX_BYTES:
                return self.fail(
                    f"The file is {size / 1e6:.1f} MB; the largest accepted is "
                    f"{settings.LAUREL_IMPORT_MAX_BYTES / 1e6:.0f} MB."
                )
            with open(path, "rb") as fh:
                job, earlier = services.import_create(
                    actor=actor,
                    organization=org,
                    kind=opts["kind"],
                    upload=fh,
                    file_name=os.path.basename(path),
                    verify_only=opts["verify_only"],
                    suppress_notifications=opts["suppress_notifications"],
                    start=False,
                    options={"event": opts["event"], "status": opts["status"]}
                    if opts["kind"] == "attendees"
                    else None,
                )
        except OSError as exc:
            return self.fail(f"Cannot read {path}: {exc.strerror}.")
        except ServiceError as exc:
            return self.fail(exc.message)
        if earlier:
            self.say(
                f"This file was already imported (import {job.pk}, {job.get_status_display()}); "
                "nothing new was done."
            )
        else:
            services.import_validate(job_id=job.pk, on_progress=self.progress("Validating"))
            job.refresh_from_db()
        if job.status in (ImportJob.Status.FAILED, ImportJob.Status.NEEDS_MAPPING):
            return self.fail(job.error or "The file could not be read.", job=job)
        self.show(job, LABELS)
        problems = sum(job.count(c) for c in ImportRow.PROBLEMS)
        committed = False
        if not earlier and not opts["verify_only"] and job.can_commit():
            if opts["yes"] or self.confirm(f"Commit {job.to_commit} rows? [y/N] "):
                services.import_commit_start(actor=actor, job=job, enqueue=False)
                services.import_commit_run(job_id=job.pk, on_progress=self.progress("Committing"))
                job.refresh_from_db()
                committed = True
                self.show(job, AFTER)
            else:
                self.say("Not committed. Run again with --yes to commit without asking.")
        self.finish(job, committed=committed, existing=earlier)
        if problems:
            sys.exit(1)

    # --- output ---------------------------------------------------------------------------

    def say(self, text: str) -> None:
        (self.stderr if self.as_json else self.stdout).write(text)

    def progress(self, label: str):
        def show(done: int, total: int) -> None:
            self.stderr.write(f"\r{label}: {done:,} / {total:,} rows", ending="")
            self.stderr.flush()

        return show

    def show(self, job: ImportJob, labels) -> None:
        self.stderr.write("")
        for key, label in labels:
            self.say(f"{label:<45} {job.count(key):>10,}")

    def confirm(self, question: str) -> bool:
        if not sys.stdin or not sys.stdin.isatty():
            self.say("No terminal to ask for confirmation (use --yes).")
            return False
        try:
            return input(question).strip().lower() in ("y", "yes")
        except EOFError:
            return False

    def finish(self, job: ImportJob, *, committed: bool, existing: bool) -> None:
        if not self.as_json:
            return
        keys = [k for k, _ in LABELS] + [k for k, _ in AFTER] + ["excluded"]
        summary = {key: job.count(key) for key in keys}
        summary.update(
            import_id=job.pk, status=job.status, committed=committed, existing_import=existing
        )
        self.stdout.write(json.dumps(summary))

    def fail(self, message: str, job: ImportJob | None = None):
        if self.as_json:
            out = {"error": message, "rows": 0}
            if job is not None:
                out["import_id"] = job.pk
            self.stdout.write(json.dumps(out))
        else:
            self.stderr.write(f"Error: {message}")
        sys.exit(2)
