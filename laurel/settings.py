"""Laurel's one settings module, driven by environment variables (see README "Configuration").

``LAUREL_ENV=local`` (the default) is zero set-up: SQLite, e-mail to the console, a generated
secret key kept in ``var/``. ``LAUREL_ENV=production`` refuses to start without the values a
real deployment must choose, and turns on every ``check --deploy`` hardening.
"""

from __future__ import annotations

import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def env_bool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = env(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env(name, default) or "").split(",") if item.strip()]


# Under pytest the default is "test" (pytest-django imports settings before any conftest runs).
LAUREL_ENV = env("LAUREL_ENV", "test" if "pytest" in sys.modules else "local")
if LAUREL_ENV not in {"local", "production", "test"}:
    raise ImproperlyConfigured(f"LAUREL_ENV must be local, production or test, not {LAUREL_ENV!r}")
PRODUCTION = LAUREL_ENV == "production"
TESTING = LAUREL_ENV == "test"

DATA_DIR = Path(env("LAUREL_DATA_DIR", str(PROJECT_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env("SECRET_KEY")
    if key:
        return key
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when LAUREL_ENV=production")
    if TESTING:
        return "test-only-secret-key-" + "x" * 40
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when LAUREL_ENV=production")
if PRODUCTION and any("*" in host for host in ALLOWED_HOSTS):
    # Host-header poisoning would reach password-reset links; name the hosts.
    raise ImproperlyConfigured("ALLOWED_HOSTS must name the site's hosts, not '*', in production")
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when LAUREL_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

# The absolute address of this site, used in e-mails, QR codes and credentials.
SITE_URL = (env("SITE_URL", "http://127.0.0.1:8000") or "").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "django_htmx",
    "csp",
    "django_tasks",
    "django_tasks_db",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "laurel.web",
    "laurel.accounts",
    "laurel.audit",
    "laurel.notifications",
    "laurel.catalog",
    "laurel.credits",
    "laurel.imports",
    "laurel.certificates",
    "laurel.recognition",
    "laurel.programs",
    "laurel.events",
    "laurel.api",
    "laurel.operations",
    "laurel.integrations",
    "laurel.exports",
]

MIDDLEWARE = [
    # First, so every response (errors from later middleware too) carries the request's id.
    "laurel.lib.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After static files (not worth a metric); times and logs everything after it.
    "laurel.operations.middleware.RequestObservabilityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "laurel.web.middleware.RefuseNulMiddleware",
    # A query cancelled by the web statement timeout is a 503 page, not a 500.
    "laurel.web.middleware.StatementTimeoutMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "laurel.accounts.middleware.StaffTwoFactorMiddleware",
    "laurel.accounts.middleware.HolderTimeZoneMiddleware",
    "laurel.lib.ratelimit.RateLimitHeadersMiddleware",
]

ROOT_URLCONF = "laurel.urls"
WSGI_APPLICATION = "laurel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "laurel.accounts.context_processors.organizations",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# SQLite in var/ by default; DATABASE_URL=postgres://... for production.
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'laurel.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the web server read while the worker writes; IMMEDIATE avoids
    # "database is locked" upgrades from read to write transactions.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    if not TESTING:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# Web requests on PostgreSQL (docs/scale.md): a statement running past
# WEB_STATEMENT_TIMEOUT seconds is cancelled (the page answers 503, and the worker thread is
# free again), and one query may use at most WEB_PARALLEL_WORKERS parallel workers, so one
# page cannot take every core. Only in web server processes (``laurel/wsgi.py`` sets
# LAUREL_PROCESS=web): the task worker's imports and exports run as long as they need.
LAUREL_PROCESS = env("LAUREL_PROCESS", "")
WEB_STATEMENT_TIMEOUT = env_int("WEB_STATEMENT_TIMEOUT", 5)
WEB_PARALLEL_WORKERS = env_int("WEB_PARALLEL_WORKERS", 1)
if WEB_STATEMENT_TIMEOUT < 0 or WEB_PARALLEL_WORKERS < 0:
    raise ImproperlyConfigured("WEB_STATEMENT_TIMEOUT and WEB_PARALLEL_WORKERS must be >= 0")


def web_session_options(options: str = "") -> str:
    """libpq ``options`` for a web process's PostgreSQL sessions."""
    limits = (
        f"-c statement_timeout={WEB_STATEMENT_TIMEOUT * 1000} "
        f"-c max_parallel_workers_per_gather={WEB_PARALLEL_WORKERS}"
    )
    return f"{options} {limits}".strip()


if LAUREL_PROCESS == "web" and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    db_options = DATABASES["default"]["OPTIONS"]
    db_options["options"] = web_session_options(db_options.get("options", ""))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache: rate limits, status lists ---------------------------------------------------------
# Shared by every process: the database cache by default (its table is made by a migration of
# laurel.web), Redis with CACHE_URL=redis://host:6379/0 where operators run one.
CACHE_URL = env("CACHE_URL")
if CACHE_URL and CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
elif CACHE_URL:
    raise ImproperlyConfigured(f"CACHE_URL must be a redis:// URL, not {CACHE_URL!r}")
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "laurel_cache",
        }
    }

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
# One click: the sign-up link confirms on opening (an address added to an existing account
# still asks, see accounts.views.ConfirmEmailView).
ACCOUNT_CONFIRM_EMAIL_ON_GET = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Laurel] "
ACCOUNT_ADAPTER = "laurel.accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "laurel.accounts.forms.SignupForm"}
ACCOUNT_MAX_EMAIL_ADDRESSES = 10
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if PRODUCTION else "http"
ACCOUNT_PREVENT_ENUMERATION = True
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Laurel"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"

# --- Localisation ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(DATA_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not (DEBUG or TESTING)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
# S3-compatible object storage for uploads, reports and PDFs (several web hosts share it).
AWS_STORAGE_BUCKET_NAME = env("S3_BUCKET")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env("S3_ENDPOINT_URL"),
            "region_name": env("S3_REGION"),
            "access_key": env("S3_ACCESS_KEY_ID"),
            "secret_key": env("S3_SECRET_ACCESS_KEY"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Uploads: Django's own ceiling on request bodies; file size limits per kind are in services.
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
LAUREL_LOGO_MAX_BYTES = env_int("LAUREL_LOGO_MAX_BYTES", 2 * 1024 * 1024)
# Decoded size of an uploaded image (logos, signatures): 16 million pixels is a 4000 × 4000
# logo, 64 MB decoded. Pillow's own bomb check is set to the same (laurel.web.apps).
LAUREL_IMAGE_MAX_PIXELS = env_int("LAUREL_IMAGE_MAX_PIXELS", 16_000_000)
LAUREL_PDF_MAX_BYTES = env_int("LAUREL_PDF_MAX_BYTES", 10 * 1024 * 1024)
LAUREL_IMPORT_MAX_BYTES = env_int("LAUREL_IMPORT_MAX_BYTES", 250 * 1024 * 1024)
LAUREL_PROGRAM_ATTACHMENT_MAX_BYTES = env_int(
    "LAUREL_PROGRAM_ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024
)

# --- E-mail ---------------------------------------------------------------------------------
# Every message goes through the outbox table; the worker sends it with this backend.
EMAIL_HOST = env("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = 30
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
elif PRODUCTION:
    raise ImproperlyConfigured("EMAIL_HOST must be set when LAUREL_ENV=production")
elif TESTING:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Laurel <no-reply@laurel.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Bounces (docs/mail.md): the VERP envelope sender's base address, a mailbox the worker reads
# bounces from (imaps://user:password@host/INBOX), and the SNS topics whose SES events count.
BOUNCE_ADDRESS = env("BOUNCE_ADDRESS", "") or ""
if BOUNCE_ADDRESS and "@" not in BOUNCE_ADDRESS:
    raise ImproperlyConfigured(f"BOUNCE_ADDRESS must be an e-mail address, not {BOUNCE_ADDRESS!r}")
BOUNCE_IMAP_URL = env("BOUNCE_IMAP_URL", "") or ""
if BOUNCE_IMAP_URL and not BOUNCE_IMAP_URL.startswith(("imap://", "imaps://")):
    raise ImproperlyConfigured("BOUNCE_IMAP_URL must start with imaps:// or imap://")
SES_SNS_TOPIC_ARNS = env_list("SES_SNS_TOPIC_ARNS", "")
# Messages one organization sends per minute at most (0: no limit); essential mail is exempt.
LAUREL_MAIL_RATE_PER_MINUTE = env_int("LAUREL_MAIL_RATE_PER_MINUTE", 600)

# --- Background tasks -----------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if TESTING and not env_bool("LAUREL_TEST_DB_TASKS", False)
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default", "email", "imports", "pdf"],
    }
}
# Seconds without a heartbeat before a running job is considered abandoned and resumed.
LAUREL_JOB_STALE_SECONDS = env_int("LAUREL_JOB_STALE_SECONDS", 60)
# A stale job is resumed at most this many times, then failed and its owner told, so a
# poison file cannot loop the workers forever (docs/jobs.md).
LAUREL_JOB_MAX_RESUMES = env_int("LAUREL_JOB_MAX_RESUMES", 5)
# Exports (ledger, audit, ...): above this many rows the file is written by a worker and
# e-mailed as a link; below, it streams. A stream running longer than the seconds below stops
# with an "incomplete" last line and continues as a background file (keep it under the web
# server's request timeout).
LAUREL_EXPORT_STREAM_MAX_ROWS = env_int("LAUREL_EXPORT_STREAM_MAX_ROWS", 50_000)
LAUREL_EXPORT_STREAM_SECONDS = env_int("LAUREL_EXPORT_STREAM_SECONDS", 30)
# A background export on PostgreSQL (COPY) sorts and hashes the whole file in the database:
# its work_mem for that one statement (a million ledger rows need ~350 MB to stay in memory;
# less spills to temporary files, slower but correct).
LAUREL_EXPORT_COPY_WORK_MEM = env("LAUREL_EXPORT_COPY_WORK_MEM", "256MB")

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_AGE = 60 * 60 * 12

# Content-Security-Policy (django-csp): scripts only from our own static files (htmx is
# vendored; its eval and injected styles are off in base.html's htmx-config), no <style>
# elements, style attributes allowed (templates use a few), nothing framed but our previews.
_IMG_SOURCES = [SELF, "data:"]
if AWS_STORAGE_BUCKET_NAME:  # logos served from the bucket by signed URL
    _IMG_SOURCES.append(env("S3_ENDPOINT_URL") or "https://*.amazonaws.com")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],  # for browsers without the two below
        "style-src-elem": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": _IMG_SOURCES,
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [SELF],
        "frame-ancestors": [NONE],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
    }
}

# LOG_FORMAT=json: one JSON object per line (python-json-logger), with the request id.
LOG_FORMAT = env("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "laurel.lib.request_id.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "django_tasks": {"level": "WARNING"},
        "django_tasks_db": {"level": "WARNING"},
        # One line per detector per bounce at INFO: noise.
        "flufl.bounce": {"level": "WARNING"},
        # One line per request; the plain format leaves it to gunicorn's access log.
        "laurel.request": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
        "httpx": {"level": "WARNING"},  # a line per webhook delivery otherwise
    },
}

# --- Operations (docs/operations.md) --------------------------------------------------------
# /metrics answers only a request bearing this token; unset, /metrics does not exist.
METRICS_TOKEN = env("METRICS_TOKEN", "") or ""
# Errors to Sentry or a Sentry-compatible service; personal data is not sent.
SENTRY_DSN = env("SENTRY_DSN", "") or ""
if SENTRY_DSN:
    from laurel.operations.sentry import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=LAUREL_ENV,
        traces_sample_rate=float(env("SENTRY_TRACES_SAMPLE_RATE", "0") or 0),
    )

# --- Laurel ---------------------------------------------------------------------------------
LAUREL_IMPORT_UNDO_DAYS = env_int("LAUREL_IMPORT_UNDO_DAYS", 7)
# PostgreSQL: database connections one import uses side by side: validation writes its
# preview rows on a second one while it reads the file, the commit runs ranges on each (the
# database does that work, so about one per core of the database server). Tests use one: a
# test's data lives in its own open transaction, which other connections cannot see.
LAUREL_IMPORT_CONNECTIONS = env_int("LAUREL_IMPORT_CONNECTIONS", 1 if TESTING else 2)
# Rate limits ("hits/seconds"), counted in the cache above (laurel.lib.ratelimit). Behind a
# reverse proxy set TRUSTED_PROXY_COUNT to the number of proxies that append to
# X-Forwarded-For; with 0 the connecting address is the client.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
LAUREL_RATE_LIMITS = {
    "verify": env("LAUREL_RATE_VERIFY", "60/60"),  # verification page, its PDF and JSON, per IP
    "check": env("LAUREL_RATE_CHECK", "10/60"),  # credential checker (page and API), per IP
    "credit_resend": env("LAUREL_RATE_CREDIT_RESEND", "3/3600"),  # per credit
    "api": env("LAUREL_RATE_API", "600/60"),  # per API key
}
# allauth counts login (30/min per IP; 10 failures/min per IP, 5 per 5 min per account),
# sign-up (20/min per IP) and password reset (20/min per IP, 5/min per address) with its
# defaults, in the same cache and by the same client address (AccountAdapter.get_client_ip).
# --- Webhooks (docs/webhooks.md) ---------------------------------------------------------------
# Off by default: an endpoint URL is typed by an organization admin, and a URL that resolves
# to 127.0.0.1, 10.x or 169.254.169.254 would let them make Laurel call its own database,
# admin ports or the cloud's credential service (SSRF). Turn it on only for an on-premise
# install whose receivers live on its private network. Cloud metadata addresses stay refused.
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False)
WEBHOOKS_TIMEOUT_SECONDS = float(env("WEBHOOKS_TIMEOUT_SECONDS", "10") or 10)
WEBHOOKS_MAX_RESPONSE_BYTES = env_int("WEBHOOKS_MAX_RESPONSE_BYTES", 64 * 1024)
# A failing streak this long disables the endpoint (and its admins are e-mailed).
WEBHOOKS_GIVE_UP_AFTER = timedelta(hours=env_int("WEBHOOKS_GIVE_UP_AFTER_HOURS", 72))
# Deliveries one claim sends to an endpoint in a row, over one kept-alive connection.
WEBHOOKS_BATCH = env_int("WEBHOOKS_BATCH", 100)
# Endpoints sent to side by side by one dispatch (PostgreSQL; SQLite tests use one).
WEBHOOKS_DISPATCH_THREADS = env_int("WEBHOOKS_DISPATCH_THREADS", 1 if TESTING else 4)
LAUREL_DEMO_PASSWORD = "laurel-demo"  # noqa: S105 (local demo mode only)
