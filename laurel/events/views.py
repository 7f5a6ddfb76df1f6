"""Event pages: set-up, the attendee list with its attendance tool, check-in at the door,
the public page where holders register, and the calendar file."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from laurel.accounts.models import Connection, Role
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.events import services
from laurel.events.calendar import ics_for
from laurel.events.forms import (
    AttendanceForm,
    CheckInForm,
    ComponentForm,
    EventForm,
    RegisterForm,
    RegistrationTypeForm,
    SessionForm,
    TrackForm,
)
from laurel.events.models import AttendanceChange, AttendanceJob, Event, Registration
from laurel.web.tenancy import ANY_MEMBER, org_required

STAFF = (Role.STAFF,)  # admins always pass
PAGE = 200


def _event(request, pk) -> Event:
    return get_object_or_404(
        Event.objects.for_org(request.org).select_related("organization"), pk=pk
    )


def _error(form, exc: ServiceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@org_required(*ANY_MEMBER)
def event_list(request):
    events = Event.objects.for_org(request.org).annotate(
        seated=Count("registrations", filter=Q(registrations__status__in=Registration.SEATED)),
        waiting=Count("registrations", filter=Q(registrations__status="waitlisted")),
    )
    return render(request, "events/event_list.html", {"events": events})


@org_required(*STAFF)
def event_new(request):
    form = EventForm(
        request.POST or None,
        organization=request.org,
        initial={"time_zone": request.org.time_zone, "registration_open": True},
    )
    if request.method == "POST" and form.is_valid():
        try:
            event = services.event_create(
                actor=Actor.from_request(request), organization=request.org, **form.cleaned_data
            )
        except ServiceError as exc:
            _error(form, exc)
        else:
            messages.success(request, "Event created. Add what attendance earns below.")
            return redirect(event)
    return render(request, "events/event_form.html", {"form": form})


@org_required(*STAFF)
def event_edit(request, pk):
    event = _event(request, pk)
    form = EventForm(
        request.POST or None, organization=request.org, initial=EventForm.initial_for(event)
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.event_update(
                actor=Actor.from_request(request), event=event, **form.cleaned_data
            )
        except ServiceError as exc:
            _error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect(event)
    return render(request, "events/event_form.html", {"form": form, "event": event})


@org_required(*ANY_MEMBER)
def event_detail(request, pk):
    event = _event(request, pk)
    forms_ = {
        "track": TrackForm(prefix="track"),
        "session": SessionForm(prefix="session"),
        "component": ComponentForm(prefix="component", event=event),
        "type": RegistrationTypeForm(prefix="type"),
    }
    return render(request, "events/event_detail.html", _detail_context(event, forms_))


def _detail_context(event, forms_) -> dict:
    counts = dict(
        event.registrations.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {
        "event": event,
        "forms": forms_,
        "components": event.components.select_related("credit_type", "track", "session"),
        "counts": [(s.label, counts.get(s.value, 0)) for s in Registration.Status],
    }


@org_required(*STAFF)
@require_POST
def event_setup(request, pk, what):
    """Add a track, a session, a component or a registration type."""
    event = _event(request, pk)
    actor = Actor.from_request(request)
    make = {
        "track": lambda: TrackForm(request.POST, prefix="track"),
        "session": lambda: SessionForm(request.POST, prefix="session"),
        "component": lambda: ComponentForm(request.POST, prefix="component", event=event),
        "type": lambda: RegistrationTypeForm(request.POST, prefix="type"),
    }
    if what not in make:
        raise Http404
    form = make[what]()
    if form.is_valid():
        data = form.cleaned_data
        try:
            if what == "track":
                services.track_add(actor=actor, event=event, name=data["name"])
            elif what == "session":
                tz = event.tz
                services.session_add(
                    actor=actor,
                    event=event,
                    title=data["title"],
                    starts_at=data["starts_at"].replace(tzinfo=None).replace(tzinfo=tz),
                    ends_at=data["ends_at"].replace(tzinfo=None).replace(tzinfo=tz),
                )
            elif what == "component":
                services.component_add(actor=actor, event=event, **data)
            else:
                services.registration_type_add(actor=actor, event=event, **data)
        except ServiceError as exc:
            _error(form, exc)
        else:
            messages.success(request, "Added.")
            return redirect(event)
    forms_ = {
        "track": TrackForm(prefix="track"),
        "session": SessionForm(prefix="session"),
        "component": ComponentForm(prefix="component", event=event),
        "type": RegistrationTypeForm(prefix="type"),
        what: form,
    }
    return render(request, "events/event_detail.html", _detail_context(event, forms_), status=422)


@org_required(*STAFF)
@require_POST
def event_copy(request, pk):
    event = _event(request, pk)
    copy = services.event_copy(actor=Actor.from_request(request), event=event)
    messages.success(request, "Copied a week later, without registrations. Check its dates.")
    return redirect("events:edit", request.org.slug, copy.pk)


@org_required(*STAFF)
@require_POST
def event_cancel(request, pk):
    event = _event(request, pk)
    try:
        services.event_cancel(actor=Actor.from_request(request), event=event)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The event is cancelled; it takes no more registrations.")
    return redirect(event)


# --- attendees and the attendance tool --------------------------------------------------


@org_required(*STAFF)
def attendees(request, pk):
    event = _event(request, pk)
    status = request.GET.get("status", "")
    rows = event.registrations.select_related("track", "registration_type").order_by(
        "name", "email"
    )
    if status in Registration.Status.values:
        rows = rows.filter(status=status)
    q = (request.GET.get("q") or "").strip()
    found = []
    if q:
        found = list(
            Connection.objects.filter(organization=request.org)
            .filter(Q(email__icontains=q) | Q(holder__full_name__icontains=q))
            .select_related("holder")
            .order_by("email")[:20]
        )
    context = {
        "event": event,
        "rows": rows[:PAGE],
        "total": rows.count(),
        "status": status,
        "statuses": Registration.Status.choices,
        "register_form": RegisterForm(event=event),
        "tool": AttendanceForm(),
        "q": q,
        "found": found,
        "last_change": AttendanceChange.objects.filter(event=event, undone_at__isnull=True)
        .order_by("-created_at", "-id")
        .first(),
        "jobs": AttendanceJob.objects.filter(event=event).order_by("-created_at")[:3],
    }
    if request.htmx and request.GET.get("part") == "jobs":
        return render(request, "events/attendees.html#jobs", context)
    return render(request, "events/attendees.html", context)


@org_required(*STAFF)
@require_POST
def register(request, pk):
    event = _event(request, pk)
    form = RegisterForm(request.POST, event=event)
    if form.is_valid():
        try:
            reg = services.registration_create(
                actor=Actor.from_request(request), event=event, **form.cleaned_data
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if reg.status == Registration.Status.WAITLISTED:
                position = services.waitlist_position(reg)
                messages.warning(
                    request,
                    f"The event is full: {reg.email} is on the waitlist (number {position}).",
                )
            else:
                messages.success(
                    request,
                    f"{reg.display_name} is registered (check-in code {reg.check_in_code}).",
                )
    else:
        for field, errors in form.errors.items():
            messages.error(request, f"{field}: {errors[0]}")
    return redirect("events:attendees", request.org.slug, event.pk)


@org_required(*STAFF)
@require_POST
def attendance(request, pk):
    """The tool: one person (a row's button), a selection, or all registered."""
    event = _event(request, pk)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose what to mark.")
        return redirect("events:attendees", request.org.slug, event.pk)
    data = form.cleaned_data
    if data["scope"] == "all_registered":
        ids = list(
            event.registrations.filter(status=Registration.Status.REGISTERED).values_list(
                "pk", flat=True
            )
        )
    else:
        ids = [int(v) for v in request.POST.getlist("registration") if v.isdigit()]
    if not ids:
        messages.error(request, "Select at least one person.")
        return redirect("events:attendees", request.org.slug, event.pk)
    notify = data["notify"]
    try:
        result = services.attendance_request(
            actor=Actor.from_request(request),
            event=event,
            registration_ids=ids,
            state=data["state"],
            notify=notify,
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        label = Registration.Status(data["state"]).label
        if result.job:
            messages.info(request, f"Marking {result.job.total} people {label} in the background…")
        else:
            messages.success(
                request,
                f"{result.changed} marked {label}"
                + (f"; {result.unchanged} already were" if result.unchanged else "")
                + (f"; {result.credits} credits delivered" if result.credits else "")
                + (f"; {result.revoked} credits revoked" if result.revoked else "")
                + ".",
            )
    return redirect("events:attendees", request.org.slug, event.pk)


@org_required(*STAFF)
@require_POST
def attendance_undo(request, pk):
    event = _event(request, pk)
    try:
        result = services.attendance_undo(actor=Actor.from_request(request), event=event)
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Undone: {result.changed} put back as they were.")
    return redirect("events:attendees", request.org.slug, event.pk)


@org_required(*STAFF)
def check_in(request, pk):
    """The door: a code typed or scanned (a USB scanner types it and presses Enter)."""
    event = _event(request, pk)
    form = CheckInForm(request.POST or None)
    outcome = None
    if request.method == "POST" and form.is_valid():
        outcome = services.check_in(
            actor=Actor.from_request(request), event=event, code=form.cleaned_data["code"]
        )
        form = CheckInForm()  # empty again for the next person
    attended = event.registrations.filter(status=Registration.Status.ATTENDED).count()
    context = {"event": event, "form": form, "outcome": outcome, "attended": attended}
    return render(request, "events/check_in.html", context, status=200)


@org_required(*ANY_MEMBER)
def event_ics(request, pk):
    return _ics_response(_event(request, pk))


def _ics_response(event) -> HttpResponse:
    response = HttpResponse(ics_for(event), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="event-{event.pk}.ics"'
    return response


# --- public -------------------------------------------------------------------------------


def _public_event(pk) -> Event:
    return get_object_or_404(Event.objects.public().select_related("organization"), pk=pk)


def public_event(request, pk):
    """A public event's page: what it is, what it earns, and registration for holders."""
    event = _public_event(pk)
    mine = None
    if request.user.is_authenticated:
        mine = event.registrations.filter(holder=request.user).first()
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next={request.path}")
        track = None
        if request.POST.get("track"):
            track = event.tracks.filter(pk=request.POST["track"]).first()
        rtype = None
        if request.POST.get("registration_type"):
            rtype = event.registration_types.filter(pk=request.POST["registration_type"]).first()
        try:
            mine = services.registration_self(
                user=request.user, event=event, track=track, registration_type=rtype
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            if mine.status == Registration.Status.WAITLISTED:
                messages.warning(
                    request,
                    f"The event is full: you are on the waitlist (number "
                    f"{services.waitlist_position(mine)}). We will move you up when a seat frees.",
                )
            else:
                messages.success(
                    request, f"You are registered. Your check-in code: {mine.check_in_code}."
                )
            return redirect("events:public", event.pk)
    return render(
        request,
        "events/public_event.html",
        {
            "event": event,
            "mine": mine,
            "components": event.components.select_related("credit_type", "track", "session"),
            "refusal": event.refuses_registration(),
        },
    )


def public_ics(request, pk):
    return _ics_response(_public_event(pk))


@login_required
def my_registrations(request):
    rows = (
        Registration.objects.filter(holder=request.user)
        .select_related("event__organization", "track")
        .order_by("-event__starts_at")
    )
    return render(request, "events/my_registrations.html", {"rows": rows})
