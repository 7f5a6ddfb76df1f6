"""Ledger rows are rendered 50 or 100 to a page: their repeated parts are built in Python
(one call a row) rather than by an ``{% include %}`` per row, which costs several times more."""

from html import escape

from django import template
from django.urls import reverse
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


def _detail_urls(name: str):
    """``pk → URL`` for a route taking one ``<int:pk>``: reversed once a page (not once a
    row) with a placeholder id, then completed by string formatting."""
    placeholder = "9876543210"
    prefix, _, suffix = reverse(name, args=[int(placeholder)]).partition(placeholder)
    return lambda pk: f"{prefix}{pk}{suffix}"


def _holder_cells(c, url) -> str:
    """The "for", "completed" and "credit" cells of a holder's credit row."""
    course = c.course
    title = escape(c.title)
    origin = (
        '<span class="badge self_report">Self-reported</span>'
        if c.is_self_reported
        else f"from {escape(c.organization.name)}"
    )
    return (
        f'<a href="{url}">{title}</a><br><span class="help">{origin}'
        + (f" · {escape(course.course_id)}" if course else "")
        + "</span></td>\n"
        f"  <td>{date_format(c.completion_date, 'Y-m-d')}</td>\n"
        f"  <td>{components(c)}</td>\n"
    )


@register.simple_tag
def dashboard_rows(credits, selectable) -> SafeString:
    """The dashboard's credit rows; a checkbox column when ``selectable`` (other dashboards
    to move to), checked boxes only on accepted credits."""
    url = _detail_urls("credits:locker_credit_detail")
    out = []
    for c in credits:
        title = escape(c.title)
        check = ""
        if selectable:
            box = (
                f'<input type="checkbox" name="credit" value="{c.pk}" form="bulk-move" '
                f'aria-label="Select {title}">'
                if c.status == "accepted"
                else ""
            )
            check = f"<td>{box}</td>"
        out.append(
            f"<tr>\n  {check}\n  <td>"
            + _holder_cells(c, url(c.pk))
            + f'  <td><span class="badge {escape(c.status)}">'
            f"{escape(c.get_status_display())}</span></td>\n</tr>"
        )
    return SafeString("".join(out))


@register.simple_tag
def pending_rows(credits) -> SafeString:
    """The locker's offers waiting for an answer: select, open, accept or reject each."""
    url = _detail_urls("credits:locker_credit_detail")
    out = []
    for c in credits:
        pk = c.pk
        title = escape(c.title)
        out.append(
            "<tr>\n"
            f'  <td><input type="checkbox" name="credit" value="{pk}" id="credit-{pk}" '
            f'aria-labelledby="credit-{pk}-title"></td>\n'
            f'  <td><a id="credit-{pk}-title" href="{url(pk)}">{title}</a>'
            f'<br><span class="help">from {escape(c.organization.name)}'
            + (f" · {escape(c.course.course_id)}" if c.course else "")
            + "</span></td>\n"
            f"  <td>{date_format(c.completion_date, 'Y-m-d')}</td>\n"
            f"  <td>{components(c)}</td>\n"
            '  <td><div class="actions" style="margin:0;flex-wrap:nowrap">\n'
            f'    <button type="submit" name="accept_one" value="{pk}" '
            f'aria-label="Accept {title}">Accept</button>\n'
            f'    <button type="submit" name="reject_one" value="{pk}" class="secondary" '
            f'aria-label="Reject {title}">Reject</button>\n'
            "  </div></td>\n"
            "</tr>\n"
        )
    return SafeString("".join(out))
