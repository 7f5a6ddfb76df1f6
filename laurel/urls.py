from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from laurel.web import views as web_views

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("", include("laurel.accounts.urls")),
    path("", include("laurel.catalog.urls")),
    path("", include("laurel.credits.urls")),
    path("", include("laurel.audit.urls")),
    path("", include("laurel.imports.urls")),
    path("", include("laurel.certificates.urls")),
    path("", include("laurel.notifications.urls")),
    path("api/", include("laurel.api.urls")),
    path("", include("laurel.api.page_urls")),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
