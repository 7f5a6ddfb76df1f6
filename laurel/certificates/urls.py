from django.urls import path

from laurel.certificates import views

app_name = "certificates"
ORG = "o/<slug:org_slug>/certificates/"
urlpatterns = [
    # Public: anyone with the code, no login.
    path("v/verify", views.verify_api, name="verify_api"),
    path("v/check/", views.verify_form, name="verify_form"),
    path("v/<str:code>", views.verify_page, name="verify"),
    path("v/<str:code>/certificate.png", views.verify_png, name="verify_png"),
    path("v/<str:code>/certificate.pdf", views.verify_pdf, name="verify_pdf"),
    path("v/<str:code>/credential.json", views.verify_credential, name="verify_credential"),
    path("o/<slug:org_slug>/did.json", views.did_json, name="did_json"),
    path("o/<slug:org_slug>/status-list.json", views.status_list_json, name="status_list"),
    # The organization's certificate desk.
    path(ORG, views.certificate_list, name="list"),
    path(ORG + "issue/", views.certificate_issue, name="issue"),
    path(ORG + "bulk/", views.certificate_bulk, name="bulk"),
    path(ORG + "<int:pk>/", views.certificate_detail, name="detail"),
    path(ORG + "<int:pk>/pdf/", views.certificate_pdf, name="pdf"),
    path(ORG + "<int:pk>/revoke/", views.certificate_revoke, name="revoke"),
    path(ORG + "<int:pk>/replace/", views.certificate_replace, name="replace"),
    path(ORG + "files/last/", views.job_last, name="job_last"),
    path(ORG + "files/<int:pk>/", views.job_detail, name="job"),
    path(ORG + "files/<int:pk>/download/", views.job_download, name="job_download"),
    path(ORG + "templates/", views.template_list, name="templates"),
    path(ORG + "templates/new/", views.template_edit, name="template_new"),
    path(ORG + "templates/preview/", views.template_preview, name="template_preview"),
    path(
        ORG + "templates/preview-frame/",
        views.template_preview_frame,
        name="template_preview_frame",
    ),
    path(ORG + "templates/<int:pk>/", views.template_edit, name="template_edit"),
    path(ORG + "templates/<int:pk>/default/", views.template_default, name="template_default"),
    path(ORG + "policies/", views.policy_list, name="policies"),
    path(ORG + "policies/<int:course_pk>/", views.policy_edit, name="policy_edit"),
]
