"""Request and response bodies of API v1."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import field_validator

from laurel.credits.models import Credit

CreditStatus = Literal[tuple(Credit.Status.values)]  # type: ignore[valid-type]


class CourseComponentOut(Schema):
    credit_type: str
    name: str
    unit: str
    amount: Decimal


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
    amount_offered: Decimal
    amount_earned: Decimal


class CreditOut(Schema):
    id: int
    status: CreditStatus
    course_id: str | None
    title: str
    email: str
    name: str
    completion_date: date
    source: str
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
    course_id: str = Field(..., min_length=1, max_length=32)
    email: str = Field(..., max_length=254)
    completion_date: date
    amount_earned: Decimal | None = Field(None, ge=0, max_digits=7, decimal_places=2)
    credit_type: str | None = Field(None, max_length=16)
    name: str = Field("", max_length=200)
    note: str = Field("", max_length=2000)
    notify: bool = True

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        value = value.strip()
        try:
            validate_email(value)
        except DjangoValidationError:
            raise ValueError("Enter a valid e-mail address.")
        return value


class CreditFilters(Schema):
    status: CreditStatus | None = None
    course_id: str | None = None
    email: str | None = Field(None, description="Part of the recipient's e-mail address.")
    completed_from: date | None = None
    completed_to: date | None = None
    undeliverable: bool | None = Field(
        None, description="true: only credits whose recipient address bounced."
    )


class RevokeIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)
