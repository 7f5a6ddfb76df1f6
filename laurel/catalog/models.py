"""Credit types and courses: what an organization grants credit for."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone


class CreditType(models.Model):
    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="credit_types"
    )
    code = models.CharField(
        max_length=16,
        validators=[RegexValidator(r"^[A-Z][A-Z0-9_]{0,15}$", "Capital letters, digits, _.")],
    )
    name = models.CharField(max_length=100)
    unit = models.CharField(max_length=40, default="hours")

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "code"], name="credit_type_code_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.unit})"


class CourseQuerySet(models.QuerySet):
    def for_org(self, org):
        return self.filter(organization=org)


class Course(models.Model):
    class Format(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        LIVE_ONLINE = "live_online", "Live online"
        SELF_PACED = "self_paced", "Self-paced online"
        HYBRID = "hybrid", "Hybrid"

    organization = models.ForeignKey(
        "accounts.Organization", on_delete=models.CASCADE, related_name="courses"
    )
    course_id = models.CharField("course ID", max_length=32, unique=True)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    delivery_format = models.CharField(
        max_length=16, choices=Format.choices, default=Format.SELF_PACED
    )
    active_from = models.DateField(help_text="First completion date that may be credited.")
    active_until = models.DateField(
        null=True, blank=True, help_text="Last completion date that may be credited (optional)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CourseQuerySet.as_manager()

    class Meta:
        ordering = ["course_id"]

    def __str__(self) -> str:
        return f"{self.course_id} {self.title}"

    def clean(self):
        if self.active_until and self.active_from and self.active_until < self.active_from:
            raise ValidationError({"active_until": "Must be on or after the first date."})

    def is_active_on(self, day) -> bool:
        return self.active_from <= day and (self.active_until is None or day <= self.active_until)

    def inactive_reason(self, day) -> str | None:
        if day < self.active_from:
            return f"{self.course_id} can only be credited from {self.active_from:%Y-%m-%d}."
        if self.active_until and day > self.active_until:
            return f"{self.course_id} could only be credited until {self.active_until:%Y-%m-%d}."
        return None


class CourseComponent(models.Model):
    """Credit a course grants: a credit type and an amount."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="components")
    credit_type = models.ForeignKey(CreditType, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(
        max_digits=7, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        ordering = ["credit_type__code"]
        constraints = [
            models.UniqueConstraint(fields=["course", "credit_type"], name="one_component_per_type")
        ]

    def __str__(self) -> str:
        return f"{self.amount.normalize():f} {self.credit_type.code}"


class CourseIdCounter(models.Model):
    """Next sequence number per organization and two-digit year (NNA-26-00042)."""

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "year"], name="one_counter_per_year")
        ]
