from django.urls import path

from laurel.recognition import views

app_name = "recognition"
ORG = "o/<slug:org_slug>/recognition/"
urlpatterns = [
    path(ORG, views.dashboard, name="dashboard"),
    path(ORG + "cohorts/", views.cohort_list, name="cohorts"),
    path(ORG + "cohorts/<int:pk>/", views.cohort_detail, name="cohort"),
    path(ORG + "new/", views.ceremony_new, name="new"),
    path(ORG + "<int:pk>/edit/", views.ceremony_edit, name="edit"),
    path(ORG + "<int:pk>/details/", views.ceremony_details, name="details"),
    path(ORG + "<int:pk>/submit/", views.ceremony_submit, name="submit"),
    path(ORG + "<int:pk>/cancel/", views.ceremony_cancel, name="cancel"),
    path(ORG + "<int:pk>/ceremony.ics", views.ceremony_ics, name="ics"),
    path(ORG + "<int:pk>/certificates/", views.generate, name="generate"),
    path(ORG + "<int:pk>/certificates/<int:taker_pk>/pdf/", views.taker_pdf, name="taker_pdf"),
    path(ORG + "<int:pk>/file/", views.last_file_status, name="last_file_status"),
    path(ORG + "<int:pk>/file/download/", views.last_file, name="last_file"),
    path(ORG + "<int:pk>/program.pdf", views.program, name="program"),
    path(ORG + "pins/", views.pins, name="pins"),
    path(ORG + "pins.csv", views.pins_csv, name="pins_csv"),
    path(ORG + "pins/<int:pk>/mailed/", views.pins_mailed, name="pins_mailed"),
    path(ORG + "canvas/", views.canvas, name="canvas"),
]
