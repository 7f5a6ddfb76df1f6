"""Webhook endpoint pages for organization admins: list, settings, delivery log."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from laurel.accounts.models import Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.integrations import services
from laurel.integrations.forms import EndpointForm
from laurel.integrations.models import WebhookDelivery, WebhookEndpoint
from laurel.web.tenancy import org_required

DELIVERIES_PER_PAGE = 50


def _endpoints(request):
    return WebhookEndpoint.objects.for_org(request.org)


def _save(request, form, endpoint=None):
    """Create or update from a valid form; None (with the error on the form) if refused."""
    data = form.cleaned_data
    try:
        if endpoint is None:
            return services.endpoint_create(
                actor=Actor.from_request(request),
                organization=request.org,
                url=data["url"],
                description=data["description"],
                event_types=data["event_types"],
            )
        return services.endpoint_update(
            actor=Actor.from_request(request),
            endpoint=endpoint,
            url=data["url"],
            description=data["description"],
            event_types=data["event_types"],
        )
    except ServiceError as exc:
        form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        return None


@org_required(Role.ADMIN)
def endpoint_list(request):
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        endpoint = _save(request, form)
        if endpoint is not None:
            messages.success(request, "Endpoint added. Copy its signing secret below.")
            return redirect("integrations:endpoint_detail", request.org.slug, endpoint.pk)
    status = 422 if form.is_bound else 200
    return render(
        request,
        "integrations/endpoint_list.html",
        {"endpoints": _endpoints(request), "form": form},
        status=status,
    )


@org_required(Role.ADMIN)
def endpoint_detail(request, pk: int):
    endpoint = get_object_or_404(_endpoints(request), pk=pk)
    initial = {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": endpoint.event_types,
    }
    form = EndpointForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and _save(request, form, endpoint):
        messages.success(request, "Endpoint saved.")
        return redirect("integrations:endpoint_detail", request.org.slug, endpoint.pk)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint).select_related("message").order_by("-id")
    )
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    context = {"endpoint": endpoint, "form": form, "page": page, "deliveries": page.object_list}
    if request.htmx and request.method == "GET":
        return render(request, "integrations/endpoint_detail.html#deliveries", context)
    status = 422 if form.is_bound else 200
    return render(request, "integrations/endpoint_detail.html", context, status=status)


@require_POST
@org_required(Role.ADMIN)
def endpoint_rotate(request, pk: int):
    endpoint = get_object_or_404(_endpoints(request), pk=pk)
    services.endpoint_rotate_secret(actor=Actor.from_request(request), endpoint=endpoint)
    messages.success(request, "New secret made. The old one keeps signing beside it for 24 hours.")
    return redirect("integrations:endpoint_detail", request.org.slug, endpoint.pk)


@require_POST
@org_required(Role.ADMIN)
def endpoint_enable(request, pk: int):
    endpoint = get_object_or_404(_endpoints(request), pk=pk)
    enabled = request.POST.get("enabled") == "1"
    services.endpoint_set_enabled(
        actor=Actor.from_request(request), endpoint=endpoint, enabled=enabled
    )
    messages.success(request, "Endpoint enabled." if enabled else "Endpoint disabled.")
    return redirect("integrations:endpoint_detail", request.org.slug, endpoint.pk)


@require_POST
@org_required(Role.ADMIN)
def endpoint_test(request, pk: int):
    endpoint = get_object_or_404(_endpoints(request), pk=pk)
    services.endpoint_send_test(actor=Actor.from_request(request), endpoint=endpoint)
    messages.success(request, "Test event queued; it appears in the log below.")
    return redirect("integrations:endpoint_detail", request.org.slug, endpoint.pk)


@org_required(Role.ADMIN)
def delivery_detail(request, pk: int):
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_org(request.org).select_related("endpoint", "message"), pk=pk
    )
    return render(
        request,
        "integrations/delivery_detail.html",
        {
            "delivery": delivery,
            "attempts": delivery.tries.order_by("-id"),
            "body": services.body_of(delivery.message).decode(),
        },
    )


@require_POST
@org_required(Role.ADMIN)
def delivery_resend(request, pk: int):
    delivery = get_object_or_404(
        WebhookDelivery.objects.for_org(request.org).select_related("endpoint", "message"), pk=pk
    )
    try:
        services.delivery_resend(actor=Actor.from_request(request), delivery=delivery)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Queued again, after what is waiting for this endpoint.")
    return redirect("integrations:endpoint_detail", request.org.slug, delivery.endpoint_id)
