"""The one signal Laurel listens to. allauth verifies an address along several paths (link,
code, sign-up, admin), and ``email_confirmed`` is the only hook all of them fire, so this
receiver is a thin bridge to the claims service (see docs/decisions/0001-architecture.md)."""

from allauth.account.signals import email_confirmed
from django.dispatch import receiver


@receiver(email_confirmed)
def deliver_held_credits(sender, request, email_address, **kwargs):
    from laurel.certificates.services import certificate_name_waits_release
    from laurel.credits.services import claims_deliver_for_email
    from laurel.programs.services import enrollments_deliver_for_email

    claims_deliver_for_email(user=email_address.user, email=email_address.email)
    enrollments_deliver_for_email(user=email_address.user, email=email_address.email)
    certificate_name_waits_release(user=email_address.user)
