import pytest

from laurel.lib.amounts import credit_label, credit_phrase


@pytest.mark.parametrize(
    ("name", "unit", "reads"),
    [
        ("Contact hours", "contact hours", "1.5 contact hours"),  # the demo's: never doubled
        ("Ethics hours", "hours", "1.5 ethics hours"),
        ("CLE Ethics", "hours", "1.5 hours of CLE Ethics"),
        ("CME hours", "hours", "1.5 CME hours"),
        ("CEU", "", "1.5 CEU"),
        ("", "hours", "1.5 hours"),
        ("  Contact   hours ", "Contact hours", "1.5 Contact hours"),
    ],
)
def test_credit_reads_once(name, unit, reads):
    assert credit_phrase("1.5", name, unit) == reads


def test_label_is_the_words_after_the_amount():
    assert credit_label("Pharmacology hours", "pharmacology hours") == "pharmacology hours"
