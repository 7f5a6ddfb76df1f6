from django.urls import path

from laurel.programs import views

app_name = "programs"
ORG = "o/<slug:org_slug>/programs/"
urlpatterns = [
    path(ORG, views.program_list, name="list"),
    path(ORG + "new/", views.program_new, name="new"),
    path(ORG + "approvals/", views.approvals, name="approvals"),
    path(ORG + "approvals/<int:pk>/approve/", views.approval_approve, name="approve"),
    path(ORG + "approvals/<int:pk>/return/", views.approval_return, name="return"),
    path(ORG + "reviews/<int:pk>/approve/", views.review_approve, name="review_approve"),
    path(ORG + "reviews/<int:pk>/return/", views.review_return, name="review_return"),
    path(ORG + "reviews/<int:pk>/file/", views.review_certificate, name="review_certificate"),
    path(ORG + "enrollees/", views.by_enrollee, name="by_enrollee"),
    path(ORG + "enrollees/transcript/", views.enrollee_transcript, name="transcript"),
    path(ORG + "enrollments/<int:pk>/", views.enrollment_detail, name="enrollment"),
    path(ORG + "enrollments/<int:pk>/complete/", views.completion_new, name="completion_new"),
    path(ORG + "enrollments/<int:pk>/dates/", views.enrollment_dates, name="enrollment_dates"),
    path(ORG + "enrollments/<int:pk>/cancel/", views.enrollment_cancel, name="enrollment_cancel"),
    path(ORG + "completions/<int:pk>/file/", views.completion_attachment, name="attachment"),
    path(ORG + "<int:pk>/", views.program_detail, name="detail"),
    path(ORG + "<int:pk>/edit/", views.program_edit, name="edit"),
    path(ORG + "<int:pk>/status/", views.program_status, name="status"),
    path(ORG + "<int:pk>/enrollees.csv", views.program_export, name="export"),
    path(ORG + "<int:pk>/enroll/", views.program_enroll, name="enroll"),
    path(ORG + "<int:pk>/move-version/", views.program_move_version, name="move_version"),
    path(ORG + "<int:pk>/purge/", views.program_purge, name="purge"),
    path("locker/programs/", views.my_programs, name="my_programs"),
    path("locker/programs/transcript/", views.my_transcript, name="my_transcript"),
    path("locker/programs/<int:pk>/cancel/", views.my_enrollment_cancel, name="my_cancel"),
    path("locker/programs/files/<int:pk>/", views.my_attachment, name="my_attachment"),
    path("programs/<int:pk>/", views.program_public, name="public"),
]
