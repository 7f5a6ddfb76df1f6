from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static

from laurel.accounts.middleware import LAST_ORG_SESSION_KEY
from laurel.audit import describe
from laurel.web import selectors
from laurel.web.navigation import can_open
from laurel.web.tenancy import ANY_MEMBER, org_required


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
            return redirect("org_home", org_slug=slug)
        return redirect("credits:locker")
    return render(request, "web/home.html")


def favicon(request):
    # Looked up per request, not at import: the hashed name exists only once collected.
    return redirect(static("favicon.ico"), permanent=True)


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


# Quick actions: (URL name, label); each shown only to roles that can open it.
QUICK_ACTIONS = (
    ("credits:org_credit_new", "Enter a credit"),
    ("credits:org_credit_bulk", "Enter course ID : e-mail pairs"),
    ("imports:upload", "Upload an import"),
    ("certificates:issue", "Issue a certificate"),
    ("catalog:review_queue", "Review course applications"),
    ("programs:list", "Certification programs"),
)


@org_required(*ANY_MEMBER)
def org_home(request):
    """An organization's home: what needs attention, what happened lately, what to do next."""
    if request.org.kind == "provider":
        return redirect("catalog:provider_home", org_slug=request.org.slug)
    from django.urls import reverse

    actions = []
    for name, label in QUICK_ACTIONS:
        url = reverse(name, args=[request.org.slug])
        if can_open(request.membership, url):
            actions.append((url, label))
    events = selectors.recent_activity(request.org)
    phrases = describe.object_phrases(events)
    context = {
        "counts": selectors.home_counts(request.org),
        "actions": actions,
        "activity": [(e, describe.describe(e, phrases)) for e in events],
        **{
            f"can_{name.split(':')[0]}": can_open(
                request.membership, reverse(name, args=[request.org.slug])
            )
            for name in ("imports:list", "certificates:list", "audit:event_list")
        },
    }
    return render(request, "web/org_home.html", context)
