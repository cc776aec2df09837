"""Settings for the ready-to-run site.

Everything comes from the environment (or a ``.env`` file beside manage.py); with
nothing set, the site runs on the embedded defaults: SQLite, the django-q2 ORM broker,
files under ``var/media`` and the local Videos API emulator. ``docs/settings.md`` is the
reference for every variable.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(BASE_DIR / ".env")

VAR_DIR = Path(os.environ.get("SORA_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or (for local runs only) a key generated once into var/."""
    key = os.environ.get("DJANGO_SECRET_KEY")
    if key:
        return key
    if not DEBUG:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Set DJANGO_SECRET_KEY: it is required when DJANGO_DEBUG is off.")
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_q",
    "taggit",
    "rest_framework",
    "drf_spectacular",
    "videos",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "sora_project.urls"

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
                "videos.context_processors.sora",
            ],
        },
    },
]

WSGI_APPLICATION = "sora_project.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        # Reused connections: a new PostgreSQL connection per task cost 21 ms per job
        # (bench/); health checks drop one the server closed instead of failing a request.
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (site, qcluster) share the file: wait for locks instead of
    # failing, and take the write lock at BEGIN so conditional updates serialize.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
    # Tests use a file, not memory, so the worker and site processes they start share it;
    # one per test run, so runs side by side never share a database.
    import tempfile

    DATABASES["default"]["TEST"] = {
        "NAME": os.environ.get("SORA_TEST_DB") or str(Path(tempfile.gettempdir()) / f"sora-test-{os.getpid()}.sqlite3")
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("DJANGO_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_URL = "/media/"  # never served publicly: the app's media view checks permissions
MEDIA_ROOT = Path(os.environ.get("DJANGO_MEDIA_ROOT", VAR_DIR / "media"))

LOGIN_URL = "videos:login"  # the videos app's sign-in (members and staff); the admin's admits staff only
LOGIN_REDIRECT_URL = "/"

# --- storage -----------------------------------------------------------------------
_S3_BUCKET = os.environ.get("SORA_S3_BUCKET")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
if _S3_BUCKET:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _S3_BUCKET,
            "endpoint_url": os.environ.get("SORA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("SORA_S3_REGION") or None,
            "access_key": os.environ.get("SORA_S3_ACCESS_KEY_ID") or None,
            "secret_key": os.environ.get("SORA_S3_SECRET_ACCESS_KEY") or None,
            "querystring_auth": True,
            "querystring_expire": int(os.environ.get("SORA_SIGNED_URL_EXPIRY", "300")),
            # SigV4: what every region and S3-compatible store accepts (botocore may sign v2 otherwise)
            "signature_version": os.environ.get("SORA_S3_SIGNATURE_VERSION", "s3v4"),
            "default_acl": None,
            "file_overwrite": True,
        },
    }

# --- queue -------------------------------------------------------------------------
_REDIS_URL = os.environ.get("SORA_REDIS_URL")
Q_CLUSTER = {
    "name": os.environ.get("SORA_Q_NAME", "sora"),
    "workers": int(os.environ.get("SORA_Q_WORKERS", "2")),
    "timeout": 900,
    "retry": 960,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "guard_cycle": 0.5,
    "label": "Task queue",
}
if _REDIS_URL:
    Q_CLUSTER["redis"] = _REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"

# --- production hardening ------------------------------------------------------------
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SSL_REDIRECT", False)
    SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0"))
    SECURE_CONTENT_TYPE_NOSNIFF = True

# --- the REST API (videos.api) ---------------------------------------------------------
REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sora Studio API",
    "DESCRIPTION": "Make, follow, review and download videos with the studio's budgets, approval and storage.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
}

# --- the videos app -------------------------------------------------------------------
# One provider, configured by the openai SDK's own variables. With no OPENAI_BASE_URL,
# the site talks to the embedded emulator (started by bin/start) and says so in the UI.
_BASE_URL = os.environ.get("OPENAI_BASE_URL")
# bin/start records where it started the emulator, so a later manage.py in another shell finds it.
_EMULATOR_URL_FILE = VAR_DIR / "emulator-url"
_EMULATOR_URL = os.environ.get("SORA_EMULATOR_URL") or (
    _EMULATOR_URL_FILE.read_text().strip() if _EMULATOR_URL_FILE.exists() else "") or "http://127.0.0.1:8765/v1"
SORA_VIDEOS = {
    "SITE_URL": os.environ.get("SORA_SITE_URL", ""),  # links the CLI prints (share links)
    "PROVIDERS": {
        "default": {
            "BASE_URL": _BASE_URL or _EMULATOR_URL,
            "API_KEY_ENV": "OPENAI_API_KEY" if _BASE_URL else "SORA_EMULATOR_API_KEY",
            "DIALECT": os.environ.get("SORA_DIALECT", "openai"),
            "WEBHOOK_SECRET_ENV": "OPENAI_WEBHOOK_SECRET",
            "EMULATOR": not _BASE_URL,
            "LABEL": os.environ.get("SORA_PROVIDER_LABEL", "" if _BASE_URL else "Local emulator"),
        }
    },
}

if not _BASE_URL:
    # The local emulator costs nothing to ask: check often so progress moves smoothly in the demo.
    SORA_VIDEOS["POLL_INTERVAL"] = 1.0

# Extra SORA_VIDEOS options as JSON (e.g. '{"POLL_INTERVAL": 2}'), for deployments and the
# worker processes tests start; see docs/settings.md.
SORA_VIDEOS.update(json.loads(os.environ.get("SORA_VIDEOS_JSON") or "{}"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        # the same error (Redis down, twice a second per worker) once a minute, with a count
        "once_a_minute": {"()": "videos.logfilters.RepeatFilter", "interval": 60},
    },
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        # stderr: where a container platform (and gunicorn's error log) collects it
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["once_a_minute"]},
        "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "level": "ERROR",
                        "filters": ["require_debug_false"]},  # only when ADMINS is set
    },
    "loggers": {
        "videos": {"handlers": ["console"], "level": os.environ.get("SORA_LOG_LEVEL", "INFO")},
        "django-q": {"handlers": ["console"], "level": os.environ.get("SORA_Q_LOG_LEVEL", "WARNING")},
        # A 500 writes "Internal Server Error: <path>" and its traceback to stderr whatever
        # DJANGO_DEBUG says (Django's default only mails ADMINS when debugging is off).
        "django.request": {"handlers": ["console", "mail_admins"], "level": "ERROR", "propagate": False},
    },
}
