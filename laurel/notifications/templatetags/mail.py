"""``{% undeliverable email %}``: a badge and the reason when mail to ``email`` bounced."""

from django import template
from django.utils.html import format_html

from laurel.notifications.models import Suppression

register = template.Library()


@register.simple_tag
def undeliverable(email: str):
    # One query per use: for detail pages and short lists (a ledger annotates instead).
    suppression = Suppression.objects.filter(email=(email or "").strip().lower()).first()
    if suppression is None or not suppression.blocks_essential:
        return ""
    return format_html(
        ' <span class="badge undeliverable" title="{}">Undeliverable</span>'
        ' <span class="help">{}</span>',
        suppression.summary,
        suppression.summary,
    )
