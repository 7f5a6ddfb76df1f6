from django.urls import path

from laurel.operations import views

app_name = "operations"
urlpatterns = [
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("platform/operations/", views.operations_page, name="page"),
    path(
        "platform/operations/jobs/<str:kind>/<int:pk>/retry/",
        views.job_retry,
        name="job_retry",
    ),
]
