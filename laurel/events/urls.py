from django.urls import path

from laurel.events import views

app_name = "events"
ORG = "o/<slug:org_slug>/events/"
urlpatterns = [
    path(ORG, views.event_list, name="list"),
    path(ORG + "new/", views.event_new, name="new"),
    path(ORG + "<int:pk>/", views.event_detail, name="detail"),
    path(ORG + "<int:pk>/edit/", views.event_edit, name="edit"),
    path(ORG + "<int:pk>/add/<slug:what>/", views.event_setup, name="setup"),
    path(ORG + "<int:pk>/copy/", views.event_copy, name="copy"),
    path(ORG + "<int:pk>/cancel/", views.event_cancel, name="cancel"),
    path(ORG + "<int:pk>/attendees/", views.attendees, name="attendees"),
    path(ORG + "<int:pk>/register/", views.register, name="register"),
    path(ORG + "<int:pk>/attendance/", views.attendance, name="attendance"),
    path(ORG + "<int:pk>/attendance/undo/", views.attendance_undo, name="undo"),
    path(ORG + "<int:pk>/check-in/", views.check_in, name="check_in"),
    path(ORG + "<int:pk>/event.ics", views.event_ics, name="ics"),
    path("events/<int:pk>/", views.public_event, name="public"),
    path("events/<int:pk>/event.ics", views.public_ics, name="public_ics"),
    path("my/events/", views.my_registrations, name="mine"),
]
