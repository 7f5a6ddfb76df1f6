"""Request and response bodies of API v1."""

import re
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from laurel.credits.models import Credit

CreditStatus = Literal[tuple(Credit.Status.values)]  # type: ignore[valid-type]

# Amounts travel as decimal strings ("2.50"): a float would round them.
AMOUNT_IN_PATTERN = r"^[0-9]{1,5}(\.[0-9]{1,2})?$"
AMOUNT_OUT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def _amount(value):
    if isinstance(value, Decimal):
        return value
    if not isinstance(value, str) or not re.fullmatch(AMOUNT_IN_PATTERN, value):
        raise ValueError('Send the amount as a decimal string such as "2.50".')
    return Decimal(value)


def _iso_date(value):
    # Pydantic would also take a number of seconds ("0" is 1 January 1970).
    if isinstance(value, str) and not re.fullmatch(DATE_PATTERN, value):
        raise ValueError("Send the date as YYYY-MM-DD.")
    return value


def validate_email_address(value: str) -> str:
    value = value.strip()
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("Enter a valid e-mail address.") from None
    return value


AmountIn = Annotated[
    Decimal,
    BeforeValidator(_amount),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_IN_PATTERN, "examples": ["2.50"]}),
]
AmountOut = Annotated[
    Decimal,
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": AMOUNT_OUT_PATTERN, "examples": ["2.50"]}),
]
IsoDate = Annotated[date, BeforeValidator(_iso_date)]


def _form_bool(value):
    # A form field is text; pydantic would also read "0", "no" or "off" as false.
    if isinstance(value, str) and value.strip().lower() not in ("true", "false"):
        raise ValueError("Send true or false.")
    return value


FormBool = Annotated[bool, BeforeValidator(_form_bool)]
EmailIn = Annotated[
    str,
    BeforeValidator(lambda v: validate_email_address(v) if isinstance(v, str) else v),
    Field(max_length=254, json_schema_extra={"format": "email"}, examples=["ada@example.com"]),
]
EmailOut = Annotated[str, Field(json_schema_extra={"format": "email"})]


class CourseComponentOut(Schema):
    credit_type: str
    name: str
    unit: str
    amount: AmountOut


class CourseOut(Schema):
    course_id: str
    title: str
    delivery_format: str
    active_from: date
    active_until: date | None
    components: list[CourseComponentOut]

    @staticmethod
    def resolve_components(course) -> list[dict]:
        return [
            {
                "credit_type": c.credit_type.code,
                "name": c.credit_type.name,
                "unit": c.credit_type.unit,
                "amount": c.amount,
            }
            for c in course.components.all()
        ]


class CreditComponentOut(Schema):
    credit_type: str
    name: str
    unit: str
    amount_offered: AmountOut
    amount_earned: AmountOut


class CreditOut(Schema):
    id: int
    status: CreditStatus
    course_id: str | None
    title: str
    email: EmailOut
    name: str
    completion_date: date
    source: Literal[tuple(Credit.Source.values)]  # type: ignore[valid-type]
    note: str
    created_at: datetime
    offered_at: datetime | None
    answered_at: datetime | None
    revoked_at: datetime | None
    revoke_reason: str
    components: list[CreditComponentOut]
    undeliverable: bool = Field(
        False, description="Mail to the recipient bounced: the address is on the suppression list."
    )

    @staticmethod
    def resolve_undeliverable(credit) -> bool:
        return bool(getattr(credit, "undeliverable", False))

    @staticmethod
    def resolve_course_id(credit) -> str | None:
        return credit.course.course_id if credit.course_id else None

    @staticmethod
    def resolve_email(credit) -> str:
        return credit.recipient_email

    @staticmethod
    def resolve_name(credit) -> str:
        return credit.recipient_name

    @staticmethod
    def resolve_components(credit) -> list[dict]:
        return [
            {
                "credit_type": c.credit_type.code,
                "name": c.credit_type.name,
                "unit": c.credit_type.unit,
                "amount_offered": c.amount_offered,
                "amount_earned": c.amount_earned,
            }
            for c in credit.components.all()
        ]


class HistoryOut(Schema):
    at: datetime
    action: str
    actor: str
    status: str | None = None
    reason: str | None = None


class CreditDetailOut(CreditOut):
    history: list[HistoryOut]


class CreditIn(Schema):
    course_id: str = Field(..., min_length=1, max_length=32, examples=["NNA-26-00001"])
    email: EmailIn
    completion_date: IsoDate = Field(..., examples=["2026-03-01"])
    amount_earned: AmountIn | None = Field(
        None, description="Less than the course offers; the course's amount when left out."
    )
    credit_type: str | None = Field(None, max_length=16, examples=["CE"])
    name: str = Field("", max_length=200, examples=["Ada Lovelace"])
    note: str = Field("", max_length=2000)
    notify: bool = True

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "course_id": "NNA-26-00001",
                    "email": "ada@example.com",
                    "completion_date": "2026-03-01",
                    "name": "Ada Lovelace",
                }
            ]
        }
    }


class CreditFilters(Schema):
    status: CreditStatus | None = None
    course_id: str | None = None
    email: str | None = Field(None, description="Part of the recipient's e-mail address.")
    completed_from: IsoDate | None = None
    completed_to: IsoDate | None = None
    undeliverable: bool | None = Field(
        None, description="true: only credits whose recipient address bounced."
    )


class CreditRevokeIn(Schema):
    reason: str = Field(
        ..., min_length=1, max_length=500, pattern=r"\S", examples=["Entered in error."]
    )
