"""Form widgets rendered in Python, for the filter forms shown on every list page.

Django renders a ``<select>`` through a template include per option; the audit trail's
filters carry ~100 options, which cost more CPU than the page's 100 rows. :class:`FastSelect`
writes exactly the HTML of Django's ``select.html`` / ``select_option.html`` / ``attrs.html``
(``laurel/lib/tests/test_widgets.py`` compares them) from the same context, in one call.
"""

from __future__ import annotations

from django import forms
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString


def _attrs(attrs: dict) -> str:
    return "".join(
        f" {conditional_escape(name)}"
        + ("" if value is True else f'="{conditional_escape(str(value))}"')
        for name, value in attrs.items()
        if value is not False
    )


class FastSelect(forms.Select):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        out = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, group_choices, _index in widget["optgroups"]:
            if group_name:
                out.append(f'\n  <optgroup label="{conditional_escape(group_name)}">')
            for option in group_choices:
                out.append(
                    f'\n  <option value="{conditional_escape(str(option["value"]))}"'
                    f"{_attrs(option['attrs'])}>{conditional_escape(option['label'])}</option>\n"
                )
            if group_name:
                out.append("\n  </optgroup>")
        out.append("\n</select>")
        return SafeString("".join(out))
