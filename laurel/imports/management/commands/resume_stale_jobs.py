"""Hand jobs whose worker died (no heartbeat) to a new task; optionally every N seconds."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from laurel.certificates.models import CertificateIssueJob, CertificateJob
from laurel.exports.services import export_resume_stale
from laurel.imports.services import import_resume_stale


class Command(BaseCommand):
    help = (
        "Resume import, certificate-file and export jobs whose worker stopped sending heartbeats."
    )

    def add_arguments(self, parser):
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="Repeat forever")

    def handle(self, *args, **opts):
        while True:
            resumed = import_resume_stale()
            if resumed:
                self.stdout.write(f"Resumed imports: {', '.join(map(str, resumed))}")
            files = CertificateJob.resume_stale() + CertificateIssueJob.resume_stale()
            if files:
                self.stdout.write(f"Resumed certificate files: {', '.join(map(str, files))}")
            exports = export_resume_stale()
            if exports:
                self.stdout.write(f"Resumed exports: {exports}")
            if not opts["loop"]:
                return
            time.sleep(opts["loop"])
