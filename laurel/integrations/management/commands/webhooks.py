"""``laurel webhooks listen --port N [--secret whsec_…]`` | ``laurel webhooks dispatch``.

``listen`` is a small receiver for trying webhooks out: point an endpoint at
``http://127.0.0.1:N/`` (with WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=true), and it prints each
event and whether its Standard Webhooks signature verifies with the secret given.
"""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.core.management.base import BaseCommand

from laurel.integrations.signing import verify


class Command(BaseCommand):
    help = "Run a local webhook receiver that verifies and prints, or send what is due now."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listen = sub.add_parser("listen", help="Receive, verify and print webhooks.")
        listen.add_argument("--port", type=int, default=8765)
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--secret", default="", help="The endpoint's whsec_… secret.")
        listen.add_argument("--status", type=int, default=204, help="Answer with this HTTP status.")
        sub.add_parser("dispatch", help="Send the deliveries that are due, then exit.")

    def handle(self, *args, action, **options):
        return getattr(self, "do_" + action)(**options)

    def do_dispatch(self, **_):
        from laurel.integrations.services import webhooks_dispatch_parallel

        self.stdout.write(f"Delivered {webhooks_dispatch_parallel()}.")

    def do_listen(self, *, port, host, secret, status, **_):
        out = self.stdout

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if secret:
                    ok = verify(secret, headers, body, now=int(time.time()))
                    check = "signature OK" if ok else "SIGNATURE DOES NOT VERIFY"
                else:
                    check = "signature not checked (no --secret)"
                try:
                    event = json.loads(body)
                    shown = json.dumps(event, indent=2, ensure_ascii=False)
                    kind = event.get("type", "?")
                except ValueError:
                    shown, kind = body[:2000].decode("utf-8", "replace"), "not JSON"
                out.write(f"{kind} {headers.get('webhook-id', '')}: {check}\n{shown}\n")
                out.flush()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        server = ThreadingHTTPServer((host, port), Handler)
        out.write(f"Listening on http://{host}:{server.server_address[1]}/ (Ctrl-C stops)\n")
        out.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
