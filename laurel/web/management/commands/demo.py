"""``manage.py demo`` (or ``laurel demo``): load the demo organizations, people and credits."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from laurel import demo


class Command(BaseCommand):
    help = "Load demo data (two organizations, people, courses, credits). Safe to run again."

    def handle(self, *args, **options):
        started = time.monotonic()
        try:
            summary = demo.load()
        except demo.DemoRefused as exc:
            raise CommandError(str(exc))
        if not summary.loaded:
            self.stdout.write("Demo data is already loaded; nothing to do.")
        else:
            credits = ", ".join(f"{n} {status}" for status, n in summary.credits.items())
            self.stdout.write(
                self.style.SUCCESS(
                    f"Loaded demo data in {time.monotonic() - started:.1f} s: "
                    f"{summary.organizations} organizations, {summary.users} people, "
                    f"{summary.courses} courses; credits: {credits}."
                )
            )
        self.stdout.write(f"Demo logins (password {settings.LAUREL_DEMO_PASSWORD}):")
        for login in demo.DEMO_LOGINS:
            self.stdout.write(f"  {login}")
