from django.urls import path

from laurel.notifications import views

app_name = "mail"
urlpatterns = [
    path("mail/unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
    path("mail/ses-events/", views.ses_events, name="ses_events"),
    path("o/<slug:org_slug>/outbox/", views.org_outbox, name="org_outbox"),
    path("platform/suppressions/", views.suppression_list, name="suppressions"),
    path(
        "platform/suppressions/<int:pk>/remove/",
        views.suppression_remove,
        name="suppression_remove",
    ),
]
