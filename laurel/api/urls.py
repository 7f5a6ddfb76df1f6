from django.urls import path, re_path

from laurel.api.errors import api_not_found, json_errors
from laurel.api.v1 import api

app_name = "api"

patterns, _, namespace = api.urls
for pattern in patterns:
    pattern.callback = json_errors(pattern.callback)

urlpatterns = [
    path("v1/", (patterns, "ninja", namespace)),
    re_path(r"^v1/", api_not_found, name="v1_not_found"),
]
