"""Ledger rows are rendered 50 or 100 to a page: their repeated parts are built in Python
(one call a row) rather than by an ``{% include %}`` per row, which costs several times more."""

from html import escape

from django import template
from django.utils.dateformat import format as date_format
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def components(credit) -> str:
    """ "2 CE, 0.5 ETH (of 1)": what each credit type earned (and was offered, when less)."""
    parts = []
    for c in credit.components.all():
        of = (
            ""
            if c.amount_earned == c.amount_offered
            else f' <span class="help">(of {escape(str(c.amount_offered.normalize()))})</span>'
        )
        parts.append(f"{escape(str(c.amount_earned.normalize()))} {escape(c.credit_type.code)}{of}")
    return SafeString(", ".join(parts))


@register.simple_tag
def ledger_rows(credits, ledger_url: str) -> SafeString:
    """The ledger table's rows in one call a page: the same HTML as one template loop
    iteration a credit, for a fraction of the CPU (``bench/render.py``)."""
    out = []
    for credit in credits:
        name = credit.recipient_name
        course = credit.course
        out.append(
            "<tr>\n"
            f'    <td><a href="{escape(ledger_url)}{credit.pk}/">'
            f"{escape(credit.recipient_email)}</a>"
            + (f'<br><span class="help">{escape(name)}</span>' if name else "")
            + "</td>\n"
            f"    <td>{escape(course.course_id) if course else ''}<br>"
            f'<span class="help">{escape(credit.title)}</span></td>\n'
            f"    <td>{date_format(credit.completion_date, 'Y-m-d')}</td>\n"
            f"    <td>{components(credit)}</td>\n"
            f'    <td><span class="badge {escape(credit.status)}">'
            f"{escape(credit.get_status_display())}</span>"
            + (
                ' <span class="badge undeliverable">Undeliverable</span>'
                if getattr(credit, "undeliverable", False)
                else ""
            )
            + "</td>\n  </tr>\n  "
        )
    return SafeString("".join(out))
