"""``laurel doctor [--json]``: is this Laurel healthy? Exits 1 when any check is an error."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from laurel.operations.checks import ERROR, run_all

MARK = {"ok": "ok     ", "warning": "WARNING", "error": "ERROR  "}


class Command(BaseCommand):
    help = "Check configuration, database, migrations, storage, SMTP, workers, jobs and more."
    requires_migrations_checks = False
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="one JSON document on stdout")

    def handle(self, *args, **opts):
        results = run_all()
        if opts["json"]:
            self.stdout.write(json.dumps([c.as_dict() for c in results], indent=2))
        else:
            for check in results:
                self.stdout.write(f"{MARK[check.status]} {check.name:<14} {check.message}")
                if check.fix and check.status != "ok":
                    self.stdout.write(f"{'':23}fix: {check.fix}")
        if any(c.status == ERROR for c in results):
            raise SystemExit(1)
