from django.urls import path

from laurel.catalog import provider_views as pv
from laurel.catalog import review_views as rv
from laurel.catalog import views

app_name = "catalog"
ORG = "o/<slug:org_slug>/"
P = ORG + "provider/"
urlpatterns = [
    path(ORG + "credit-types/", views.credit_type_list, name="credit_type_list"),
    path(ORG + "credit-types/new/", views.credit_type_new, name="credit_type_new"),
    path(ORG + "credit-types/<int:pk>/edit/", views.credit_type_edit, name="credit_type_edit"),
    path(ORG + "courses/", views.course_list, name="course_list"),
    path(ORG + "courses/new/", views.course_new, name="course_new"),
    path(ORG + "courses/options/", views.course_options, name="course_options"),
    path(ORG + "courses/<int:pk>/", views.course_detail, name="course_detail"),
    path(ORG + "courses/<int:pk>/edit/", views.course_edit, name="course_edit"),
    # A course provider's own pages.
    path("providers/new/", pv.provider_new, name="provider_new"),
    path(P, pv.provider_home, name="provider_home"),
    path(P + "applications/new/", pv.application_new, name="application_new"),
    path(P + "applications/<int:pk>/", pv.application_edit, name="application_edit"),
    path(
        P + "applications/<int:pk>/attachments/",
        pv.application_attachment,
        name="application_attachment",
    ),
    path(P + "applications/<int:pk>/submit/", pv.application_submit, name="application_submit"),
    path(P + "attachments/<int:pk>/", pv.attachment_download, name="attachment_download"),
    path(P + "submissions/<int:pk>/", pv.provider_submission, name="provider_submission"),
    path(P + "submissions/<int:pk>/resubmit/", pv.provider_resubmit, name="provider_resubmit"),
    path(P + "submissions/<int:pk>/retry/", pv.provider_retry, name="provider_retry"),
    path(P + "approval/", pv.provider_approval, name="provider_approval"),
    path(P + "rosters/", pv.provider_roster, name="provider_roster"),
    path(P + "crib-sheets/<int:pk>/", pv.provider_crib_sheet, name="provider_crib_sheet"),
    # The accrediting organization's review.
    path(ORG + "review/", rv.review_queue, name="review_queue"),
    path(ORG + "review/settings/", rv.review_settings, name="review_settings"),
    path(ORG + "review/questions/<int:pk>/remove/", rv.question_remove, name="question_remove"),
    path(ORG + "review/<int:pk>/", rv.review_detail, name="review_detail"),
    path(ORG + "review/<int:pk>/assign/", rv.review_assign, name="review_assign"),
    path(ORG + "review/<int:pk>/decide/", rv.review_decide, name="review_decide"),
    path(
        ORG + "review/<int:pk>/attachments/<int:attachment_pk>/",
        rv.review_attachment,
        name="review_attachment",
    ),
    path(ORG + "crib-sheets/", rv.crib_sheets, name="crib_sheets"),
    path(ORG + "crib-sheets/<int:pk>/", rv.crib_sheet_download, name="crib_sheet_download"),
    path(ORG + "crib-sheets/<int:pk>/remove/", rv.crib_sheet_remove, name="crib_sheet_remove"),
    path(ORG + "instructions/", rv.instructions, name="instructions"),
    path("locker/crib-sheets/<int:pk>/", rv.locker_crib_sheet, name="locker_crib_sheet"),
]
