from django.urls import path

from laurel.audit import views

app_name = "audit"
urlpatterns = [
    path("o/<slug:org_slug>/audit/", views.event_list, name="event_list"),
    path("o/<slug:org_slug>/audit/export.csv", views.event_export, name="export"),
]
