from django.urls import path

from laurel.catalog import views

app_name = "catalog"
urlpatterns = [
    path("o/<slug:org_slug>/credit-types/", views.credit_type_list, name="credit_type_list"),
    path("o/<slug:org_slug>/credit-types/new/", views.credit_type_new, name="credit_type_new"),
    path(
        "o/<slug:org_slug>/credit-types/<int:pk>/edit/",
        views.credit_type_edit,
        name="credit_type_edit",
    ),
    path("o/<slug:org_slug>/courses/", views.course_list, name="course_list"),
    path("o/<slug:org_slug>/courses/new/", views.course_new, name="course_new"),
    path("o/<slug:org_slug>/courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("o/<slug:org_slug>/courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
]
