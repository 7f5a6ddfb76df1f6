"""allauth hooks: route allauth's own e-mails through Laurel's outbox."""

from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings

from laurel.lib import ratelimit
from laurel.notifications.services import outbox_enqueue_rendered


def laurel_site() -> SimpleNamespace:
    return SimpleNamespace(name="Laurel", domain=urlsplit(settings.SITE_URL).netloc)


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email}
        ctx.update(context)
        # Without django.contrib.sites allauth names the site after the request's host
        # ("Hello from 127.0.0.1:8841"): mail speaks as Laurel, at SITE_URL.
        ctx["current_site"] = laurel_site()
        msg = self.render_mail(template_prefix, email, ctx)
        html = ""
        for content, mimetype in getattr(msg, "alternatives", []):
            if mimetype == "text/html":
                html = content
        text = msg.body if msg.content_subtype == "plain" else ""
        outbox_enqueue_rendered(
            to=email,
            subject=msg.subject,
            body_text=text or html,
            body_html=html,
            kind=template_prefix.rsplit("/", 1)[-1],
        )

    def get_client_ip(self, request) -> str:
        # One notion of the client's address for every limit, behind trusted proxies too.
        return ratelimit.client_ip(request) or super().get_client_ip(request)
