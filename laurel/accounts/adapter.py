"""allauth hooks: route allauth's own e-mails through Laurel's outbox."""

from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.contrib.sites.shortcuts import get_current_site

from laurel.lib import ratelimit
from laurel.notifications.services import outbox_enqueue_rendered


class AccountAdapter(DefaultAccountAdapter):
    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        request = allauth_context.request
        ctx = {"request": request, "email": email, "current_site": get_current_site(request)}
        ctx.update(context)
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
