from django.urls import path

from laurel.credits import views

app_name = "credits"
urlpatterns = [
    path("o/<slug:org_slug>/credits/", views.org_ledger, name="org_ledger"),
    path("o/<slug:org_slug>/credits/new/", views.org_credit_new, name="org_credit_new"),
    path("o/<slug:org_slug>/credits/pairs/", views.org_credit_bulk, name="org_credit_bulk"),
    path("o/<slug:org_slug>/credits/export.csv", views.org_ledger_export, name="org_ledger_export"),
    path("o/<slug:org_slug>/credits/claims/", views.org_claims, name="org_claims"),
    path("o/<slug:org_slug>/credits/<int:pk>/", views.org_credit_detail, name="org_credit_detail"),
    path(
        "o/<slug:org_slug>/credits/<int:pk>/revoke/",
        views.org_credit_revoke,
        name="org_credit_revoke",
    ),
    path("o/<slug:org_slug>/credits/<int:pk>/void/", views.org_credit_void, name="org_credit_void"),
    path(
        "o/<slug:org_slug>/credits/<int:pk>/certificate.pdf",
        views.org_credit_certificate_pdf,
        name="org_credit_certificate_pdf",
    ),
    path(
        "o/<slug:org_slug>/credits/<int:pk>/reenter/",
        views.org_credit_reenter,
        name="org_credit_reenter",
    ),
    path(
        "o/<slug:org_slug>/credits/<int:pk>/member-id/",
        views.org_credit_member_id,
        name="org_credit_member_id",
    ),
    path(
        "o/<slug:org_slug>/credits/<int:pk>/resend/",
        views.org_credit_resend,
        name="org_credit_resend",
    ),
    path("locker/", views.locker, name="locker"),
    path("locker/answer/", views.locker_answer, name="locker_answer"),
    path("locker/move/", views.locker_move, name="locker_move"),
    path("locker/certificates/", views.locker_certificates, name="locker_certificates"),
    path("locker/certificates/name/", views.locker_give_name, name="locker_give_name"),
    path("locker/transcript/", views.transcript, name="transcript"),
    path("locker/transcript.csv", views.transcript_csv, name="transcript_csv"),
    path("locker/dashboards/new/", views.dashboard_new, name="dashboard_new"),
    path("locker/dashboards/<int:pk>/", views.dashboard_detail, name="dashboard_detail"),
    path("locker/dashboards/<int:pk>/edit/", views.dashboard_edit, name="dashboard_edit"),
    path("locker/dashboards/<int:pk>/archive/", views.dashboard_archive, name="dashboard_archive"),
    path("locker/credits/<int:pk>/", views.locker_credit_detail, name="locker_credit_detail"),
    path("locker/self-report/", views.self_report_new, name="self_report_new"),
    path(
        "locker/self-report/<int:pk>/certificate/",
        views.self_report_certificate,
        name="self_report_certificate",
    ),
]
