"""API key management pages for organization admins."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from laurel.accounts.models import Role
from laurel.accounts.services import ServiceError
from laurel.api import services
from laurel.api.forms import ApiKeyForm
from laurel.api.models import ApiKey
from laurel.audit.services import Actor
from laurel.web.tenancy import org_required


def _list(request, form, status=200):
    keys = ApiKey.objects.for_org(request.org).select_related("created_by")
    return render(request, "api/api_key_list.html", {"keys": keys, "form": form}, status=status)


@org_required(Role.ADMIN)
def api_key_list(request):
    return _list(request, ApiKeyForm())


@require_POST
@org_required(Role.ADMIN)
def api_key_create(request):
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            new = services.api_key_create(
                actor=Actor.from_request(request),
                organization=request.org,
                name=form.cleaned_data["name"],
            )
        except ServiceError as exc:
            form.add_error("name", exc.message)
        else:
            # The only time the full key exists outside the client: never cache this page.
            response = render(request, "api/api_key_created.html", {"new": new})
            response["Cache-Control"] = "no-store"
            return response
    return _list(request, form, status=422)


@require_POST
@org_required(Role.ADMIN)
def api_key_revoke(request, pk: int):
    api_key = get_object_or_404(ApiKey.objects.for_org(request.org), pk=pk)
    try:
        services.api_key_revoke(actor=Actor.from_request(request), api_key=api_key)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Key “{api_key.name}” revoked; it no longer works.")
    return redirect("api_keys:api_key_list", org_slug=request.org.slug)
