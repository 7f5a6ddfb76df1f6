"""``laurel bounces ingest FILE.eml… [--json]``: record what saved bounce messages report."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from laurel.notifications.models import Bounce
from laurel.notifications.services import bounces_ingest


class Command(BaseCommand):
    help = "Bounce handling: ingest saved bounce or complaint messages (.eml)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        ingest = sub.add_parser("ingest", help="record the bounces in saved messages")
        ingest.add_argument("files", nargs="+", metavar="FILE.eml")
        ingest.add_argument("--json", action="store_true", help="one JSON object per file")

    def handle(self, *args, action: str, files: list[str], json: bool = False, **options):
        for path in files:
            try:
                with open(path, "rb") as fh:
                    raw = fh.read()
            except OSError as exc:
                raise CommandError(f"{path}: {exc.strerror}")
            results = bounces_ingest(raw, source=Bounce.Source.FILE)
            for result in results:
                self._print(path, result, as_json=json)

    def _print(self, path: str, result: dict, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(_json({"file": path, **result}))
        else:
            self.stdout.write(
                f"{path}: {result['recipient'] or '-'} {result['kind']} → {result['action']}"
                + (f" ({result['status']})" if result["status"] else "")
            )


def _json(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False)
