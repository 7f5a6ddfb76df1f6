"""The attendees kind: who came to one event, as a roster or as a Zoom/Teams report.

A **roster** has an e-mail per row and a status column (Attended, Registered, No-show,
Cancelled) or one status chosen for the whole file; optional name, track and session
columns (a Session cell with Attended marks that one session: ``session_attendance_set``).
Someone not registered yet is registered by the import (``registration_create``).
A **Zoom or Teams attendance report** (``laurel.lib.meeting_reports``) is recognised by its
content: each participant's minutes are added up, whoever reaches the event's minimum
minutes is marked Attended, and where the event allows partial credit each component is
scaled by the minutes attended (never above its amount). A report row must match a
registration: a meeting tool knows nothing of tracks.

Every status change goes through ``events.services.attendance_set``, the one service the
attendance tool uses, so a row imported as Attended awards exactly what marking does
(credits, certificate, one e-mail, webhook); it never "succeeds" without doing it. Rows
reuse ``ImportRow``: the target status in ``credit_type``, the track as written in
``course_ref`` (its id in ``course_pk``), the session in ``note``, a report's minutes in
``amount_earned``; ``registration_id`` and ``status_before`` let an undo put each
registration back through the same service.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db import transaction

from laurel.accounts.models import User
from laurel.accounts.services import ServiceError
from laurel.audit.services import Actor
from laurel.imports.kinds import ROW_COLUMNS, ImportKind
from laurel.imports.models import ImportRow
from laurel.lib.emails import normalize_email
from laurel.lib.meeting_reports import read_meeting_report, sniff_meeting_report
from laurel.lib.tabular import (
    SAMPLE_BYTES,
    CellError,
    Field,
    FileProblem,
    Row,
    read_table,
)

C = ImportRow.Category
O = ImportRow.Outcome  # noqa: E741

ATTENDEE_FIELDS = (
    Field(
        "email",
        "Email",
        ("E-mail", "Email Address", "Email", "E-mail Address", "User Email", "Attendee Email"),
    ),
    Field(
        "name",
        "Name",
        ("Name", "Full Name", "Attendee Name", "Attendee", "Participant"),
        required=False,
    ),
    Field(
        "status",
        "Status",
        ("Status", "Attendance", "Attendance Status", "Registration Status"),
        required=False,
    ),
    Field("track", "Track", ("Track", "Credit Track"), required=False),
    Field("session", "Session", ("Session", "Session Title"), required=False),
)

# What people write in a status column → the registration status.
STATUS_WORDS = {
    "attended": "attended",
    "present": "attended",
    "checked in": "attended",
    "registered": "registered",
    "no-show": "no_show",
    "no show": "no_show",
    "noshow": "no_show",
    "no_show": "no_show",
    "absent": "no_show",
    "cancelled": "cancelled",
    "canceled": "cancelled",
}
STATUS_LABELS = {
    "attended": "Attended",
    "registered": "Registered",
    "no_show": "No-show",
    "cancelled": "Cancelled",
}


def parse_status(value: object) -> str:
    word = " ".join(str(value).replace("_", " ").split()).casefold()
    if word in STATUS_WORDS:
        return STATUS_WORDS[word]
    raise ValueError(
        f"“{value}” is not a status: write Attended, Registered, No-show or Cancelled."
    )


class _ReportTable:
    """A meeting report dressed as a ``tabular.Table``: one record per participant."""

    kind = "report"

    def __init__(self, report) -> None:
        self.report = report
        self.headings = ["Email", "Name", "Minutes"]
        self.mapping = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def records(self, converters=None):
        rows = []
        for p in self.report.participants:
            values = {"email": p.email, "name": p.name, "minutes": p.minutes}
            rows.append(Row(p.rows[0], values, dict(values), ()))
        for problem in self.report.problems:
            raw = {"email": problem.email, "name": problem.name, "minutes": None}
            error = CellError("email", "Email", "", problem.email, problem.message)
            rows.append(Row(problem.row, raw, raw, (error,)))
        rows.sort(key=lambda r: r.number)
        return iter(rows)


def event_minutes(event) -> int:
    """The minutes a report is measured against: the sessions' total, else the event's."""
    sessions = list(event.sessions.all())
    if sessions:
        seconds = sum((s.ends_at - s.starts_at).total_seconds() for s in sessions)
    else:
        seconds = (event.ends_at - event.starts_at).total_seconds()
    return max(1, int(seconds // 60))


def earned_fraction(event, minutes: Decimal | None) -> Decimal | None:
    """Partial credit: the share of the event attended (at most all of it), where allowed."""
    if minutes is None or not event.partial_credit:
        return None
    share = Decimal(minutes) / Decimal(event_minutes(event))
    return min(Decimal(1), share.quantize(Decimal("0.0001")))


class AttendeesKind(ImportKind):
    name = "attendees"
    label = "Attendees of an event"
    fields = ATTENDEE_FIELDS
    example = {
        "email": "jane.doe@example.org",
        "name": "Jane Doe",
        "status": "Attended",
        "track": "COEC 3.0",
        "session": "",
    }
    row_columns = (*ROW_COLUMNS, "registration_id", "status_before")
    commit_columns = (
        "number",
        "email",
        "name",
        "credit_type",
        "course_pk",
        "amount_earned",
        "registration_id",
        "note",
    )

    # --- options --------------------------------------------------------------------------

    def check_options(self, organization, options: dict) -> dict:
        """The event (of this organization) and the optional status for the whole file."""
        from laurel.events.models import Event

        event_id = options.get("event")
        try:
            event = Event.objects.for_org(organization).filter(pk=int(event_id)).first()
        except (TypeError, ValueError):
            event = None
        if event is None:
            raise ServiceError("Choose the event the attendees came to.", field="event")
        status = options.get("status") or ""
        if status:
            try:
                status = parse_status(status)
            except ValueError as exc:
                raise ServiceError(str(exc), field="status") from None
        return {"event": event.pk, "status": status}

    def event_of(self, job):
        from laurel.events.models import Event

        cached = getattr(job, "_event", None)
        if cached is None:
            cached = Event.objects.select_related("organization").get(
                organization=job.organization, pk=job.options["event"]
            )
            job._event = cached
        return cached

    # --- reading --------------------------------------------------------------------------

    def open_table(self, job, source, *, max_bytes, overrides):
        head = source.read(SAMPLE_BYTES)
        source.seek(0)
        if sniff_meeting_report(head):
            report = read_meeting_report(source, max_bytes=max_bytes)
            if report is not None:
                if not report.participants and not report.problems:
                    raise FileProblem("The attendance report lists no participants.")
                return _ReportTable(report)
            source.seek(0)
        table = read_table(source, max_bytes=max_bytes, fields=self.fields, overrides=overrides)
        mapping = table.mapping
        no_status = mapping is not None and mapping.ok and "status" not in mapping.columns
        if no_status and not job.options.get("status"):
            table.close()
            raise FileProblem(
                "The file has no Status column: add one (Attended, Registered, No-show,"
                " Cancelled) or choose one status for the whole file."
            )
        return table

    def converters(self, organization) -> dict:
        return {"email": normalize_email, "status": parse_status}

    # --- preview --------------------------------------------------------------------------

    def classify(self, job, records):
        """Yield one ImportRow tuple (``row_columns`` order) per record, in file order."""
        from laurel.events.models import Attendance, CreditTrack, Registration

        event = self.event_of(job)
        whole_file_status = job.options.get("status") or ""
        tracks = {t.name.casefold(): t for t in event.tracks.all()}
        elsewhere = {
            name.casefold(): title
            for name, title in CreditTrack.objects.filter(event__organization=event.organization)
            .exclude(event=event)
            .values_list("name", "event__title")
        }
        sessions = {s.title.casefold(): s for s in event.sessions.all()}
        registrations = {
            email: (pk, status, track_id)
            for email, pk, status, track_id in Registration.objects.filter(event=event).values_list(
                "email", "pk", "status", "track_id"
            )
        }
        # (registration, session) attended already: a Session row for them changes nothing.
        live_sessions = set(
            Attendance.objects.filter(
                registration__event=event, session__isnull=False, revoked_at__isnull=True
            ).values_list("registration_id", "session_id")
        )
        minimum = event.minimum_minutes
        seen: dict[tuple, int] = {}
        job_id = job.pk

        def row(number, category, email, name, status="", track="", track_pk=None,
                session="", minutes=None, column="", value="", reason="", reg=None,
                before=""):  # fmt: skip
            return (
                job_id, number, category, category in ImportRow.COMMITTABLE, "",
                email[:254], track[:64], track_pk, None, name[:200], minutes, status[:16],
                session[:500], column[:100], str(value)[:200], reason[:500], None, reg,
                before[:12],
            )  # fmt: skip

        for number, values, raw, errors in records:
            get = raw.get
            name = " ".join(str(get("name") or "").split())
            if errors:
                err = errors[0]
                yield row(
                    number, C.INVALID.value, str(get("email") or ""), name,
                    column=err.column, value=err.value or "", reason=err.message,
                )  # fmt: skip
                continue
            email = values["email"]
            from_report = "minutes" in values
            minutes = values.get("minutes") if from_report else None
            track_text = " ".join(str(values.get("track") or "").split())
            session_text = " ".join(str(values.get("session") or "").split())
            existing = registrations.get(email)

            def problem(
                column, value, reason, *, number=number, email=email, name=name,
                minutes=minutes, track=track_text, session=session_text,
            ):  # fmt: skip
                return row(
                    number, C.INVALID.value, email, name, track=track, session=session,
                    minutes=minutes, column=column, value=value, reason=reason,
                )  # fmt: skip

            if event.is_cancelled:
                yield problem("", "", "This event is cancelled: nothing can be imported.")
                continue
            if from_report:
                if existing is None:
                    yield problem(
                        "Email", email,
                        f"{email} attended the meeting but has no registration for this event:"
                        " register them first (or import a roster), then import the report.",
                    )  # fmt: skip
                    continue
                if minimum and minutes < minimum:
                    yield problem(
                        "Minutes", minutes,
                        f"Attended {minutes.normalize():f} minutes; this event requires at"
                        f" least {minimum}. Their status stays as it is.",
                    )  # fmt: skip
                    continue
                status = "attended"
            else:
                status = values.get("status") or whole_file_status
                if not status:
                    yield problem(
                        "Status", "",
                        "No status: fill the Status cell or choose one status for the file.",
                    )  # fmt: skip
                    continue
            track = None
            if track_text:
                track = tracks.get(track_text.casefold())
                if track is None:
                    if not tracks:
                        reason = "This event has no credit tracks: leave the Track cell empty."
                    elif track_text.casefold() in elsewhere:
                        reason = (
                            f"“{track_text}” is a track of another event"
                            f" ({elsewhere[track_text.casefold()]}), not of this one. This"
                            f" event's tracks: {', '.join(t.name for t in tracks.values())}."
                        )
                    else:
                        reason = (
                            f"No track “{track_text}” in this event. Its tracks:"
                            f" {', '.join(t.name for t in tracks.values())}."
                        )
                    yield problem("Track", track_text, reason)
                    continue
            session = None
            if session_text:
                session = sessions.get(session_text.casefold())
                reason = ""
                if not sessions:
                    reason = "This event has no sessions: leave the Session cell empty."
                elif session is None:
                    reason = (
                        f"No session “{session_text}” in this event. Its sessions:"
                        f" {', '.join(x.title for x in sessions.values())}."
                    )
                elif status != Registration.Status.ATTENDED:
                    # One session's attendance is marked; a status is the registration's.
                    reason = (
                        "A Session cell marks that session attended: set the status to"
                        " Attended, or leave the Session cell empty to set the registration"
                        f" {STATUS_LABELS.get(status, status)}."
                    )
                if reason:
                    yield problem("Session", session_text, reason)
                    continue
                session_text = session.title
            key = (email, session.pk if session else None)
            if key in seen:
                yield row(
                    number, C.DUPLICATE_IN_FILE.value, email, name, status=status,
                    track=track_text, minutes=minutes, session=session_text,
                    reason=f"Same person{' and session' if session else ''} as row {seen[key]}.",
                )  # fmt: skip
                continue
            seen[key] = number
            if existing is None:
                if tracks and track is None:
                    yield problem(
                        "Track", "",
                        f"{email} is not registered yet and this event has credit tracks:"
                        f" give their track ({', '.join(t.name for t in tracks.values())}).",
                    )  # fmt: skip
                    continue
                yield row(
                    number, C.INVITE.value, email, name, status=status, track=track_text,
                    track_pk=track.pk if track else None, minutes=minutes, session=session_text,
                    reason="Not registered yet: will be registered, then set"
                    f" {STATUS_LABELS[status]}{f' at {session_text}' if session else ''}.",
                )  # fmt: skip
                continue
            reg_pk, current, current_track = existing
            if track is not None and track.pk != current_track:
                on = next((t.name for t in tracks.values() if t.pk == current_track), "no track")
                yield problem(
                    "Track", track_text,
                    f"{email} is registered on {on}, not “{track_text}”. Change the"
                    " registration's track first.",
                )  # fmt: skip
                continue
            if session is not None:
                if (reg_pk, session.pk) in live_sessions:
                    yield row(
                        number, C.DUPLICATE_EXISTING.value, email, name, status=status,
                        track=track_text, session=session_text, reg=reg_pk, before=current,
                        reason=f"Already Attended at {session_text}: nothing to change.",
                    )  # fmt: skip
                else:
                    yield row(
                        number, C.DELIVERABLE.value, email, name, status=status,
                        track=track_text, track_pk=track.pk if track else None,
                        session=session_text, reg=reg_pk, before=current,
                        reason=f"Attended at {session_text}.",
                    )  # fmt: skip
                continue
            if current == status:
                yield row(
                    number, C.DUPLICATE_EXISTING.value, email, name, status=status,
                    track=track_text, minutes=minutes, reg=reg_pk, before=current,
                    reason=f"Already {STATUS_LABELS.get(current, current)}: nothing to change.",
                )  # fmt: skip
                continue
            if current == Registration.Status.WAITLISTED and status == "registered":
                reason = "On the waitlist: a seat is taken if the event has one free."
            else:
                fraction = earned_fraction(event, minutes) if status == "attended" else None
                reason = (
                    f"Partial credit: {minutes.normalize():f} of {event_minutes(event)} minutes"
                    f" ({fraction * 100:.0f}%)."
                    if fraction is not None and fraction < 1
                    else ""
                )
            yield row(
                number, C.DELIVERABLE.value, email, name, status=status, track=track_text,
                track_pk=track.pk if track else None, minutes=minutes, reg=reg_pk,
                before=current, reason=reason,
            )  # fmt: skip

    # --- commit ---------------------------------------------------------------------------

    def _actor(self, job, actor_user_id, actor_label) -> Actor:
        if actor_user_id:
            return Actor(user=job.uploaded_by or User.objects.get(pk=actor_user_id))
        return Actor.system(actor_label)

    def commit_chunk(self, job, rows, *, actor_user_id, actor_label) -> dict:
        """Register who is new, then set each status through ``attendance_set`` (one call
        per target status). Runs inside the chunk's transaction."""
        from laurel.events.models import CreditTrack, Registration
        from laurel.events.services import attendance_set, registration_create

        event = self.event_of(job)
        actor = self._actor(job, actor_user_id, actor_label)
        tracks = {t.pk: t for t in CreditTrack.objects.filter(event=event)}
        sessions = {x.title: x for x in event.sessions.all()}
        by_session: dict[str, list[tuple[int, int]]] = defaultdict(list)
        counts = {"marked": 0, "registered": 0, "failed": 0, "skipped_duplicate": 0}
        updates: dict[int, dict] = {}
        targets: dict[str, list[tuple[int, int, Decimal | None]]] = defaultdict(list)
        for number, email, name, status, track_pk, minutes, reg_id, session in rows:
            before = None
            if reg_id is None:
                try:
                    with transaction.atomic():
                        reg = registration_create(
                            actor=actor,
                            event=event,
                            email=email,
                            name=name,
                            track=tracks.get(track_pk),
                            source=Registration.Source.IMPORT,
                            source_ref=job.source_ref,
                        )
                except ServiceError as exc:
                    if exc.code != "duplicate":
                        updates[number] = {"outcome": O.FAILED, "reason": exc.message[:500]}
                        counts["failed"] += 1
                        continue
                    reg = Registration.objects.get(event=event, email=email)
                else:
                    counts["registered"] += 1
                    before = ""
                    if not session and (
                        status == Registration.Status.REGISTERED or reg.status == status
                    ):
                        note = (
                            "Registered; the event is full, so they are on the waitlist."
                            if reg.status == Registration.Status.WAITLISTED
                            else "Registered."
                        )
                        updates[number] = {
                            "outcome": O.MARKED,
                            "registration_id": reg.pk,
                            "status_before": "",
                            "reason": note,
                        }
                        continue
                reg_id = reg.pk
            if session:
                by_session[session].append((number, reg_id))
                if before is not None:
                    updates[number] = {"status_before": before}
                continue
            targets[status].append((number, reg_id, minutes))
            if before is not None:
                updates[number] = {"status_before": before}
        for status, items in targets.items():
            ids = [reg for _, reg, _ in items]
            current = dict(Registration.objects.filter(pk__in=ids).values_list("pk", "status"))
            minutes = {reg: int(m) for _, reg, m in items if m is not None}
            earned = {}
            if status == Registration.Status.ATTENDED:
                for _, reg, m in items:
                    fraction = earned_fraction(event, m)
                    if fraction is not None:
                        earned[reg] = fraction
            try:
                with transaction.atomic():
                    result = attendance_set(
                        actor=actor,
                        registrations=ids,
                        state=status,
                        notify=not job.suppress_notifications,
                        minutes=minutes,
                        earned=earned,
                    )
            except ServiceError as exc:
                for number, _, _ in items:
                    updates[number] = {"outcome": O.FAILED, "reason": exc.message[:500]}
                counts["failed"] += len(items)
                continue
            after = {r.pk: r.status for r in result.registrations}
            for number, reg, _ in items:
                update = updates.setdefault(number, {})
                update.setdefault("status_before", current.get(reg, ""))
                update["registration_id"] = reg
                if current.get(reg) == status and update["status_before"] != "":
                    # Set by someone else between the preview and the commit.
                    update["outcome"] = O.SKIPPED_DUPLICATE
                    update["reason"] = f"Already {STATUS_LABELS[status]}."
                    counts["skipped_duplicate"] += 1
                    continue
                update["outcome"] = O.MARKED
                counts["marked"] += 1
                if after.get(reg) == Registration.Status.WAITLISTED:
                    update["reason"] = "The event is full: on the waitlist."
            counts["credits"] = counts.get("credits", 0) + result.credits
            counts["certificates"] = counts.get("certificates", 0) + result.certificates
        for title, items in by_session.items():
            self._commit_session(job, actor, sessions.get(title), title, items, updates, counts)
        for number, update in updates.items():
            update.setdefault("outcome", O.MARKED)
            ImportRow.objects.filter(job_id=job.pk, number=number).update(**update)
        return counts

    def _commit_session(self, job, actor, session, title, items, updates, counts) -> None:
        """Mark one session attended for the rows naming it (``session_attendance_set``:
        that session's credit and certificate; a registration not yet Attended becomes
        Attended with it)."""
        from laurel.events.models import Attendance, Registration
        from laurel.events.services import session_attendance_set

        ids = [reg for _, reg in items]
        if session is None:  # renamed or removed since the preview
            for number, _ in items:
                updates[number] = {"outcome": O.FAILED, "reason": f"No session “{title}”."}
            counts["failed"] += len(items)
            return
        current = dict(Registration.objects.filter(pk__in=ids).values_list("pk", "status"))
        live = set(
            Attendance.objects.filter(
                registration_id__in=ids, session=session, revoked_at__isnull=True
            ).values_list("registration_id", flat=True)
        )
        try:
            with transaction.atomic():
                result = session_attendance_set(
                    actor=actor,
                    registrations=[r for r in ids if r not in live],
                    session=session,
                    attended=True,
                    notify=not job.suppress_notifications,
                )
        except ServiceError as exc:
            for number, _ in items:
                updates[number] = {"outcome": O.FAILED, "reason": exc.message[:500]}
            counts["failed"] += len(items)
            return
        for number, reg in items:
            update = updates.setdefault(number, {})
            update.setdefault("status_before", current.get(reg, ""))
            update["registration_id"] = reg
            if reg in live:
                # Marked by someone else between the preview and the commit.
                update["outcome"] = O.SKIPPED_DUPLICATE
                update["reason"] = f"Already Attended at {session.title}."
                counts["skipped_duplicate"] += 1
                continue
            update["outcome"] = O.MARKED
            update["reason"] = f"Attended at {session.title}."
            counts["marked"] += 1
        counts["credits"] = counts.get("credits", 0) + result.credits
        counts["certificates"] = counts.get("certificates", 0) + result.certificates

    # --- undo -----------------------------------------------------------------------------

    def undo(self, *, actor: Actor, job) -> dict:
        """Put every registration the import changed back as it was, through
        ``attendance_set`` (leaving Attended revokes the credits and certificate, "attendance
        corrected"). One changed since the import by someone else is left alone; one the
        import registered is cancelled."""
        from laurel.events.models import Registration
        from laurel.events.services import attendance_set, session_attendance_set

        event = self.event_of(job)
        rows = ImportRow.objects.filter(
            job=job, outcome=O.MARKED, registration_id__isnull=False
        ).values_list("registration_id", "status_before", "credit_type", "note")
        now = dict(
            Registration.objects.filter(event=event, pk__in=[r for r, _, _, _ in rows]).values_list(
                "pk", "status"
            )
        )
        back: dict[str, set[int]] = defaultdict(set)
        one_session: dict[str, set[int]] = defaultdict(set)  # session title → registrations
        left = 0
        for reg, before, target, session in rows:
            if now.get(reg) not in (target, Registration.Status.WAITLISTED):
                left += 1  # changed since the import: not ours to undo
                continue
            if session and before == Registration.Status.ATTENDED:
                one_session[session].add(reg)  # Attended before: only that session goes
                continue
            state = before or Registration.Status.CANCELLED
            if state == Registration.Status.WAITLISTED:
                state = Registration.Status.REGISTERED
            if now.get(reg) != state:
                back[state].add(reg)
        reverted = revoked = 0
        sessions = {x.title: x for x in event.sessions.all()}
        for title, ids in one_session.items():
            if title in sessions:
                result = session_attendance_set(
                    actor=actor, registrations=ids, session=sessions[title], attended=False
                )
                reverted += len(ids)
                revoked += result.revoked
        for state, ids in back.items():
            result = attendance_set(actor=actor, registrations=ids, state=state, notify=False)
            reverted += result.changed
            revoked += result.revoked
        return {"reverted": reverted, "revoked": revoked, "left_as_changed": left}
