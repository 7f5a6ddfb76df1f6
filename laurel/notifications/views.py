"""Mail pages: one-click unsubscribe and preferences (no login), the SES/SNS webhook, an
organization's outbox, and the platform's suppression list."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from laurel.accounts.models import Organization
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.notifications import services, sns
from laurel.notifications.models import Bounce, MailPreference, OutboxMessage, Suppression
from laurel.web.tenancy import ANY_MEMBER, org_required

log = logging.getLogger(__name__)
OUTBOX_DAYS = 14


@csrf_exempt  # RFC 8058: a mailbox provider POSTs with no cookie; the signed token is the key
def unsubscribe(request, token: str):
    try:
        email, org_id = services.unsubscribe_read(token)
    except ServiceError:
        raise Http404("Unknown link")
    organization = Organization.objects.filter(pk=org_id).first() if org_id else None
    if organization is None:
        raise Http404("Unknown organization")
    actor = Actor(label=f"unsubscribe:{email}", ip=request.META.get("REMOTE_ADDR"))
    if request.method == "POST":
        # A bare one-click POST ("List-Unsubscribe=One-Click") means none; the page's form
        # names a choice.
        choice = request.POST.get("choice") or MailPreference.Choice.NONE
        try:
            services.preference_set(
                email=email, organization=organization, choice=choice, actor=actor
            )
        except ServiceError as exc:
            return HttpResponseBadRequest(exc.message)
        if "choice" not in request.POST:
            return HttpResponse("Unsubscribed.\n", content_type="text/plain")
        messages.success(request, "Your choice is saved.")
        return redirect("mail:unsubscribe", token=token)
    return render(
        request,
        "notifications/unsubscribe.html",
        {
            "email": email,
            "organization": organization,
            "current": services.preference_of(email, organization.pk),
            "choices": MailPreference.Choice.choices,
        },
    )


@csrf_exempt  # SNS cannot send a CSRF token; the message's signature is checked instead
@require_POST
def ses_events(request):
    try:
        body = json.loads(request.body)
        # The topic first: nothing is fetched for a message no one configured.
        if not isinstance(body, dict) or body.get("TopicArn") not in settings.SES_SNS_TOPIC_ARNS:
            return HttpResponse("unknown topic", status=403)
        sns.verify(body)
    except (ValueError, sns.InvalidMessage) as exc:
        log.warning("refused an SNS message: %s", exc)
        return HttpResponse("invalid signature", status=403)
    if body["Type"] == "SubscriptionConfirmation":
        # Only on an AWS SNS host, checked like the certificate's.
        if not sns.open_aws_url(body.get("SubscribeURL", "")):
            log.warning("refused an SNS subscription URL off AWS: %r", body.get("SubscribeURL"))
            return HttpResponse("subscribe URL not on an AWS SNS host", status=403)
        return HttpResponse("confirmed")
    if body["Type"] != "Notification":
        return HttpResponse("ignored")
    try:
        event = sns.parse_event(body.get("Message", ""))
    except sns.InvalidMessage:
        return HttpResponseBadRequest("not an SES event")
    actions = [
        services.bounce_record(report=r, source=Bounce.Source.SES) for r in sns.reports(event)
    ]
    return HttpResponse(", ".join(actions) or "ignored")


@org_required(*ANY_MEMBER)
def org_outbox(request):
    """Sent, deferred, bounced and suppressed per day, and the addresses this organization
    mailed that are now on the suppression list."""
    since = timezone.now() - timedelta(days=OUTBOX_DAYS)
    mail = OutboxMessage.objects.for_org(request.org).filter(created_at__gte=since)
    days = (
        mail.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            sent=Count("id", filter=Q(status=OutboxMessage.Status.SENT)),
            queued=Count("id", filter=Q(status=OutboxMessage.Status.QUEUED)),
            deferred=Count("id", filter=Q(deferrals__gt=0)),
            suppressed=Count("id", filter=Q(status=OutboxMessage.Status.SUPPRESSED)),
            failed=Count("id", filter=Q(status=OutboxMessage.Status.FAILED)),
        )
        .order_by("-day")
    )
    bounced = dict(
        Bounce.objects.filter(message__organization=request.org, received_at__gte=since)
        .annotate(day=TruncDate("received_at"))
        .values("day")
        .annotate(n=Count("id"))
        .values_list("day", "n")
    )
    rows = [{**d, "bounced": bounced.get(d["day"], 0)} for d in days]
    suppressed = Suppression.objects.filter(
        email__in=OutboxMessage.objects.for_org(request.org).values("to_email")
    )[:200]
    return render(
        request,
        "notifications/org_outbox.html",
        {"rows": rows, "suppressed": suppressed, "days": OUTBOX_DAYS},
    )


def _platform_admin(request):
    if not request.user.is_superuser:
        raise Http404("Not found")


@login_required
def suppression_list(request):
    _platform_admin(request)
    query = (request.GET.get("q") or "").strip().lower()
    items = Suppression.objects.all()
    if query:
        items = items.filter(email__icontains=query)
    return render(
        request, "notifications/suppressions.html", {"items": items[:200], "query": query}
    )


@require_POST
@login_required
def suppression_remove(request, pk: int):
    _platform_admin(request)
    suppression = get_object_or_404(Suppression, pk=pk)
    services.suppression_remove(actor=Actor.from_request(request), suppression=suppression)
    messages.success(request, f"{suppression.email} can receive mail again.")
    return redirect("mail:suppressions")
