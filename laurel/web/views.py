from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render


def home(request):
    if request.user.is_authenticated:
        memberships = list(request.user.memberships.active().select_related("organization"))
        if memberships and not request.GET.get("locker"):
            return redirect("credits:org_ledger", org_slug=memberships[0].organization.slug)
        return redirect("credits:locker")
    return render(request, "web/home.html")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
