"""How an amount of credit reads: "1.5 contact hours", never "1.5 Contact hours contact hours".

A credit type has a name ("Contact hours", "Ethics", "CLE Ethics") and a unit ("contact hours",
"hours"). Organizations often repeat the one inside the other, so the words are joined only
when each adds something.
"""

from __future__ import annotations


def _lower_first(words: str) -> str:
    # "Ethics hours" → "ethics hours", but "CLE hours" and "CME" keep their capitals.
    if len(words) > 1 and words[0].isupper() and words[1].islower():
        return words[0].lower() + words[1:]
    return words


def credit_words(name: str, unit: str) -> tuple[str, str]:
    """(what the amount counts, which kind when that adds something): ("hours", "Ethics"),
    ("contact hours", "")."""
    name, unit = " ".join(name.split()), " ".join(unit.split())
    n, u = name.casefold(), unit.casefold()
    if not u:
        return name, ""
    if not n or n in u:  # "Contact hours" / "contact hours"
        return unit, ""
    if n.endswith(u):  # "Ethics hours" / "hours"
        return _lower_first(name), ""
    return unit, name  # "hours" of "Ethics"


def credit_label(name: str, unit: str) -> str:
    """The words after the amount: "contact hours", "hours of Ethics"."""
    words, kind = credit_words(name, unit)
    return f"{words} of {kind}" if kind else words


def credit_phrase(amount: str, name: str, unit: str) -> str:
    """ "1.5 contact hours"."""
    return f"{amount} {credit_label(name, unit)}"
