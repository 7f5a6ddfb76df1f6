"""The credits kind's per-row shortcuts decide exactly as the full checks they replace."""

from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from laurel.imports.kinds import CreditsKind, member_id_problem
from laurel.lib.dates import DATE_FORMATS, DateProblem, parse_date

date_texts = st.one_of(
    st.text(max_size=45),
    st.from_regex(r"\s?\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\s?", fullmatch=True),
    st.from_regex(r"\d{1,2} [A-Za-z]{3,9},? \d{2,4}", fullmatch=True),
    st.from_regex(r"\d{5}(\.\d{1,3})?", fullmatch=True),
    st.dates().map(lambda d: d.strftime("%m/%d/%Y")),
)


def outcome(convert, value):
    try:
        return ("ok", convert(value))
    except DateProblem as exc:
        return ("problem", str(exc))


@given(value=date_texts, date_format=st.sampled_from(DATE_FORMATS))
def test_credits_date_converter_agrees_with_parse_date(value, date_format):
    convert = CreditsKind().converters(SimpleNamespace(date_format=date_format))["completion_date"]
    assert outcome(convert, value) == outcome(
        lambda v: parse_date(v, date_format=date_format), value
    )


def test_an_empty_member_id_is_never_a_problem():
    # classify skips member_id_problem for "" (the shortcut relies on this).
    assert member_id_problem("") is None
