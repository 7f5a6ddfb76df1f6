from django.shortcuts import render

from laurel.accounts.models import Role
from laurel.audit import describe, selectors
from laurel.audit.forms import AuditFilterForm
from laurel.audit.models import AuditEvent
from laurel.exports.services import export_respond
from laurel.lib.paging import BoundedPaginator
from laurel.web.tenancy import org_required

EVENTS_PER_PAGE = 100


@org_required(Role.ADMIN)
def event_list(request):
    form = AuditFilterForm(request.GET or None, people=selectors.people_for(request.org))
    events = AuditEvent.objects.for_org(request.org).select_related("actor")
    if form.is_valid():
        events = selectors.event_filter(events, tz=request.org.tz, **form.cleaned_data)
    page = BoundedPaginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    phrases = describe.object_phrases(page.object_list)
    rows = [
        (event, describe.describe(event, phrases), describe.changes(event))
        for event in page.object_list
    ]
    template = "audit/event_list.html#rows" if request.htmx else "audit/event_list.html"
    query = request.GET.copy()
    query.pop("page", None)
    context = {"page": page, "rows": rows, "form": form, "export_query": query.urlencode()}
    return render(request, template, context)


@org_required(Role.ADMIN)
def event_export(request):
    """The audit trail as CSV, filtered as the page is (a background file past the limit)."""
    return export_respond(request, kind="audit", params=request.GET)
