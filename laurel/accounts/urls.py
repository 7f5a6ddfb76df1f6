from django.urls import path

from laurel.accounts import views

app_name = "accounts"
urlpatterns = [
    path("o/<slug:org_slug>/members/", views.member_list, name="member_list"),
    path("o/<slug:org_slug>/settings/", views.org_settings, name="org_settings"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
]
