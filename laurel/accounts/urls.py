from django.urls import path

from laurel.accounts import views

app_name = "accounts"
urlpatterns = [
    path(
        "platform/organizations/",
        views.platform_organizations,
        name="platform_organizations",
    ),
    path("o/<slug:org_slug>/members/", views.member_list, name="member_list"),
    path("o/<slug:org_slug>/members/<int:pk>/role/", views.member_role, name="member_role"),
    path("o/<slug:org_slug>/members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path(
        "o/<slug:org_slug>/invitations/<int:pk>/resend/",
        views.invitation_resend,
        name="invitation_resend",
    ),
    path(
        "o/<slug:org_slug>/invitations/<int:pk>/cancel/",
        views.invitation_cancel,
        name="invitation_cancel",
    ),
    path("o/<slug:org_slug>/settings/", views.org_settings, name="org_settings"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("connect/<str:token>/", views.connection_invitation, name="connection_invitation"),
    path("profile/", views.profile, name="profile"),
]
