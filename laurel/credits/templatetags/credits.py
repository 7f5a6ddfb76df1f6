"""Ledger rows are rendered 50 or 100 to a page: their repeated parts are built in Python
(one call a row) rather than by an ``{% include %}`` per row, which costs several times more."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def components(credit) -> str:
    """ "2 CE, 0.5 ETH (of 1)": what each credit type earned (and was offered, when less)."""
    return format_html_join(
        ", ",
        "{} {}{}",
        (
            (
                c.amount_earned.normalize(),
                c.credit_type.code,
                ""
                if c.amount_earned == c.amount_offered
                else format_html(
                    ' <span class="help">(of {})</span>', c.amount_offered.normalize()
                ),
            )
            for c in credit.components.all()
        ),
    )
