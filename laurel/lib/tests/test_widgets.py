"""FastSelect must write the very HTML Django's templates write: pages look the same."""

import pytest
from django import forms

from laurel.lib.widgets import FastSelect

CHOICES = [
    ("", "Anyone"),
    ("7", "Ada <ada@example.org>"),
    (8, 'Quote " and & ampersand'),
    ("credits.credit", "Credit"),
]
GROUPED = [("", "Any"), ("Kinds", [("a", "A & a"), ("b", "B")]), ("z", "Z")]


@pytest.mark.parametrize(
    "choices, value, attrs",
    [
        (CHOICES, None, None),
        (CHOICES, "7", {"id": "id_person", "aria-describedby": "x_error"}),
        (CHOICES, 8, {"id": "id_p", "required": True, "disabled": False}),
        (GROUPED, "b", {"id": "id_g", "data-x": 'q"uote'}),
    ],
)
def test_fast_select_writes_djangos_html(choices, value, attrs):
    expected = forms.Select(choices=choices).render("person", value, attrs=attrs)
    assert FastSelect(choices=choices).render("person", value, attrs=attrs) == expected
    assert "selected" in expected or value is None


def test_fast_select_in_a_bound_form_matches():
    class Plain(forms.Form):
        person = forms.ChoiceField(choices=CHOICES, required=False)

    class Fast(forms.Form):
        person = forms.ChoiceField(choices=CHOICES, required=False, widget=FastSelect)

    data = {"person": "nobody"}  # invalid: the field renders with its error
    plain, fast = Plain(data), Fast(data)
    plain.is_valid(), fast.is_valid()
    assert str(fast["person"]) == str(plain["person"])
    assert 'aria-invalid="true"' in str(fast["person"])
