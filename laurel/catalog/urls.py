from django.urls import path

from laurel.catalog import views

app_name = "catalog"
urlpatterns = [
    path("o/<slug:org_slug>/courses/", views.course_list, name="course_list"),
]
