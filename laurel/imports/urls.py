from django.urls import path

from laurel.imports import views

app_name = "imports"
urlpatterns = [
    path("o/<slug:org_slug>/imports/", views.import_list, name="list"),
    path("o/<slug:org_slug>/imports/new/", views.import_upload, name="upload"),
    path("o/<slug:org_slug>/imports/template.<str:fmt>", views.import_template, name="template"),
    path("o/<slug:org_slug>/imports/<int:pk>/", views.import_detail, name="detail"),
    path("o/<slug:org_slug>/imports/<int:pk>/rows/", views.import_rows, name="rows"),
    path("o/<slug:org_slug>/imports/<int:pk>/include/", views.import_include, name="include"),
    path("o/<slug:org_slug>/imports/<int:pk>/mapping/", views.import_mapping, name="mapping"),
    path("o/<slug:org_slug>/imports/<int:pk>/commit/", views.import_commit, name="commit"),
    path("o/<slug:org_slug>/imports/<int:pk>/undo/", views.import_undo, name="undo"),
    path("o/<slug:org_slug>/imports/<int:pk>/return/", views.import_return, name="return"),
    path("o/<slug:org_slug>/imports/<int:pk>/report/", views.import_report, name="report"),
    path("o/<slug:org_slug>/imports/<int:pk>/problems.csv", views.import_problems, name="problems"),
]
