from django.urls import path

from laurel.integrations import views

app_name = "integrations"
urlpatterns = [
    path("o/<slug:org_slug>/webhooks/", views.endpoint_list, name="endpoint_list"),
    path("o/<slug:org_slug>/webhooks/<int:pk>/", views.endpoint_detail, name="endpoint_detail"),
    path(
        "o/<slug:org_slug>/webhooks/<int:pk>/rotate/",
        views.endpoint_rotate,
        name="endpoint_rotate",
    ),
    path(
        "o/<slug:org_slug>/webhooks/<int:pk>/enable/",
        views.endpoint_enable,
        name="endpoint_enable",
    ),
    path("o/<slug:org_slug>/webhooks/<int:pk>/test/", views.endpoint_test, name="endpoint_test"),
    path(
        "o/<slug:org_slug>/webhooks/deliveries/<int:pk>/",
        views.delivery_detail,
        name="delivery_detail",
    ),
    path(
        "o/<slug:org_slug>/webhooks/deliveries/<int:pk>/resend/",
        views.delivery_resend,
        name="delivery_resend",
    ),
]
