from django.urls import path

from laurel.api import views

app_name = "api_keys"
urlpatterns = [
    path("o/<slug:org_slug>/api-keys/", views.api_key_list, name="api_key_list"),
    path("o/<slug:org_slug>/api-keys/new/", views.api_key_create, name="api_key_create"),
    path(
        "o/<slug:org_slug>/api-keys/<int:pk>/revoke/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
]
