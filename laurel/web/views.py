from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render

from laurel.accounts.middleware import LAST_ORG_SESSION_KEY


def home(request):
    if request.user.is_authenticated:
        memberships = list(request.user.memberships.active().select_related("organization"))
        if memberships and not request.GET.get("locker"):
            # The organization last worked in (remembered in the session), else the first.
            last = request.session.get(LAST_ORG_SESSION_KEY)
            slugs = [m.organization.slug for m in memberships]
            slug = last if last in slugs else slugs[0]
            kind = next(m.organization.kind for m in memberships if m.organization.slug == slug)
            if kind == "provider":
                return redirect("catalog:provider_home", org_slug=slug)
            return redirect("credits:org_ledger", org_slug=slug)
        return redirect("credits:locker")
    return render(request, "web/home.html")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
