"""``manage.py certificates verify FILE | export ... | remind | resume-jobs``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from laurel.accounts.models import Organization
from laurel.certificates import openbadges, rendering
from laurel.certificates.models import Certificate


class Command(BaseCommand):
    help = "Verify an Open Badges credential, export certificates, or send expiry reminders."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="Check a credential file and print each check.")
        verify.add_argument("file")
        export = sub.add_parser("export", help="Write one file per certificate.")
        export.add_argument("--org", required=True, help="Organization slug")
        export.add_argument("--format", choices=["ob3", "pdf"], required=True)
        export.add_argument("--out", required=True, help="Directory to write into")
        export.add_argument("--since", type=date.fromisoformat, help="Issued on or after")
        sub.add_parser("remind", help="Queue expiry reminders (run daily; idempotent).")
        sub.add_parser("resume-jobs", help="Restart bulk file jobs whose worker died.")

    def handle(self, *args, action, **options):
        return getattr(self, "do_" + action.replace("-", "_"))(**options)

    def do_verify(self, *, file, **_):
        try:
            credential = json.loads(Path(file).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot read a JSON credential from {file}: {exc}") from exc
        checks = openbadges.verify_credential(credential)
        for check in checks:
            mark = "ok  " if check.passed else "FAIL"
            self.stdout.write(f"{mark} {check.name}: {check.message}")
        if all(c.passed for c in checks):
            self.stdout.write(self.style.SUCCESS("VALID"))
        else:
            self.stdout.write(self.style.ERROR("NOT VALID"))
            raise SystemExit(1)

    def do_export(self, *, org, format, out, since, **_):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization {org!r}")
        directory = Path(out)
        directory.mkdir(parents=True, exist_ok=True)
        certs = Certificate.objects.for_org(organization).select_related(
            "template_version", "organization"
        )
        if since:
            certs = certs.filter(issue_date__gte=since)
        count = 0
        for cert in certs.order_by("pk").iterator(chunk_size=500):
            if format == "ob3":
                if not cert.credential:
                    continue
                data = json.dumps(cert.credential, ensure_ascii=False, indent=2).encode()
                (directory / f"{cert.verification_code}.json").write_bytes(data)
            else:
                pdf = rendering.certificate_pdf(cert)
                (directory / f"{cert.verification_code}.pdf").write_bytes(pdf)
            count += 1
        self.stdout.write(f"Wrote {count} file{'s' if count != 1 else ''} to {directory}")

    def do_remind(self, **_):
        from laurel.certificates.services import expiry_reminders_send

        self.stdout.write(f"Queued {expiry_reminders_send()} reminder(s).")

    def do_resume_jobs(self, **_):
        from laurel.certificates.tasks import job_resume_stale

        self.stdout.write(f"Resumed {job_resume_stale()} job(s).")
