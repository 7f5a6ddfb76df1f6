from django.core.paginator import Paginator
from django.shortcuts import render

from laurel.accounts.models import Role
from laurel.audit.models import AuditEvent
from laurel.web.tenancy import org_required


@org_required(Role.ADMIN)
def event_list(request):
    events = AuditEvent.objects.for_org(request.org).select_related("actor")
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    return render(request, "audit/event_list.html", {"page": page, "action": action})
