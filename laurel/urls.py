from allauth.account.decorators import secure_admin_login
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path

from laurel.accounts import views as account_views
from laurel.web import views as web_views

# The admin logs in through allauth, so two-factor login and the login rate limits apply.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", web_views.home, name="home"),
    path("healthz", web_views.healthz, name="healthz"),
    # Before allauth's own: an added address is confirmed only by its account (see the view).
    re_path(r"^accounts/confirm-email/(?P<key>[-:\w]+)/$", account_views.confirm_email),
    path("", include("laurel.operations.urls")),
    path("accounts/", include("allauth.urls")),
    path("", include("laurel.accounts.urls")),
    path("", include("laurel.catalog.urls")),
    path("", include("laurel.credits.urls")),
    path("", include("laurel.audit.urls")),
    path("", include("laurel.imports.urls")),
    path("", include("laurel.certificates.urls")),
    path("", include("laurel.notifications.urls")),
    path("", include("laurel.recognition.urls")),
    path("", include("laurel.integrations.urls")),
    path("", include("laurel.programs.urls")),
    path("", include("laurel.events.urls")),
    path("api/", include("laurel.api.urls")),
    path("", include("laurel.api.page_urls")),
    path("django-admin/", admin.site.urls),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)


def handler429(request, exception=None):
    """allauth's over-the-limit answer (login, sign-up, password reset): the same 429 page."""
    from laurel.lib.ratelimit import too_many_requests

    return too_many_requests(request)
