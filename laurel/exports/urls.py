from django.urls import path

from laurel.exports import views

app_name = "exports"
ORG = "o/<slug:org_slug>/exports/"
urlpatterns = [
    path(ORG + "<int:pk>/", views.job_detail, name="job"),
    path(ORG + "<int:pk>/download/", views.job_download, name="download"),
]
