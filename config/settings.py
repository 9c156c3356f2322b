"""Atelier settings, read from environment variables.

With no variables set, Atelier runs on an embedded default: SQLite, local file
storage, a filesystem Celery broker and the offline demo provider. Setting
DATABASE_URL, CELERY_BROKER_URL, AWS_STORAGE_BUCKET_NAME and OPENAI_* switches
to PostgreSQL, Redis, S3 and a real OpenAI-compatible provider.
"""

import json
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, secret_key_problem
from jobs.addresses import allow_list_entries
from ops.access import parse_networks
from ops.sentry import sentry_init

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ATELIER_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
# Old keys, newest first: sessions, signed links and stored provider keys made with them
# still verify or decrypt (`manage.py reencrypt_provider_keys` moves provider keys on).
SECRET_KEY_FALLBACKS = env_list("DJANGO_SECRET_KEY_FALLBACKS", [])
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-development-key-only-for-DJANGO_DEBUG"
if not DEBUG:
    for _name, _value in [("DJANGO_SECRET_KEY", SECRET_KEY)] + [
        ("DJANGO_SECRET_KEY_FALLBACKS", v) for v in SECRET_KEY_FALLBACKS
    ]:
        if _problem := secret_key_problem(_value):
            raise ImproperlyConfigured(
                f"{_name} {_problem}: generate one with "
                "python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "storages",
    "jobs",
    "gallery",
    "moderation",
    "teams",
    "ops",
    "notifications",
    "accounts",
    "api",
    # django-ninja: its Swagger UI files, served locally rather than from a CDN.
    "ninja",
    "webhooks",
    "openai_api",
    "catalogue",
    "axes",
]

MIDDLEWARE = [
    # First: a body over the cap is refused before anything reads it.
    "config.middleware.RequestBodyLimitMiddleware",
    # Health probes and metrics scrapes come by container address over plain HTTP.
    "ops.middleware.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before CommonMiddleware: Accept-Language or the language cookie.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in person's stored language beats the browser's.
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it answers a locked-out login with 429.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "notifications.context_processors.nav",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'atelier.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default has web threads and a worker writing at once. WAL lets readers
    # run beside the writer; IMMEDIATE takes the write lock when a transaction begins, so
    # a reader never has to upgrade (which SQLite refuses at once with "database is
    # locked", whatever the timeout); the busy timeout makes writers queue instead of fail.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": env_int("ATELIER_SQLITE_BUSY_TIMEOUT", 20, minimum=1),
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        **DATABASES["default"].get("OPTIONS", {}),
    }
# The I/O worker (gevent, hundreds of waits) borrows connections from a small pool instead of
# one per wait: DATABASE_POOL_MAX_SIZE=N (PostgreSQL only; it needs CONN_MAX_AGE 0).
_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 0, minimum=0)
if _POOL_MAX_SIZE and DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": _POOL_MAX_SIZE,
        "timeout": env_int("DATABASE_POOL_TIMEOUT", 120, minimum=1),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes, failures kept in the database so every web process shares
# them): a username, or an address, is locked out after this many failures in a row until
# the cool-off passes; a successful login resets the count.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("ATELIER_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ATELIER_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "jobs:studio"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"

# Storage: private S3-compatible bucket when a bucket is named, local files otherwise.
# Either way, storage.url() hands out short-lived signed links and nothing is public.
MEDIA_ROOT = DATA_DIR / "media"
SIGNED_URL_MAX_AGE = env_int("ATELIER_SIGNED_URL_MAX_AGE", 300, minimum=10)
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
if AWS_STORAGE_BUCKET_NAME:
    _default_storage = {
        "BACKEND": "gallery.storage.PrivateS3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "region_name": env_str("AWS_S3_REGION_NAME", "us-east-1"),
            "addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "path"),
            "signature_version": "s3v4",
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": SIGNED_URL_MAX_AGE,
            "file_overwrite": True,
            "public_endpoint_url": env_str("AWS_S3_PUBLIC_ENDPOINT_URL") or None,
            # One retry layer: the job retries storage writes with backoff, boto3 does not.
            # django-storages ignores signature_version when client_config is given.
            "client_config": BotoConfig(
                signature_version="s3v4",
                s3={"addressing_style": env_str("AWS_S3_ADDRESSING_STYLE", "path")},
                connect_timeout=5,
                read_timeout=60,
                retries={"total_max_attempts": 1},
            ),
            # Objects here are single images: a transfer's thread pool costs more than the
            # transfer (~45 ms a job in the CPU stage), and the I/O stage's greenlets are
            # its concurrency.
            "transfer_config": TransferConfig(use_threads=False),
        },
    }
else:
    _default_storage = {
        "BACKEND": "gallery.storage.SignedFileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "allow_overwrite": True},
    }
STORAGES = {
    "default": _default_storage,
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Celery. The broker is only a hint: the job row in the database is the truth.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Longer than the longest job plus any retry countdown, so Redis does not
    # redeliver a message that a live worker still holds.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200, minimum=60)
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_TASK_DEFAULT_QUEUE", "atelier")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes every database connection around every task unless this is
# set; then it does so only once in this many tasks. Workers follow CONN_MAX_AGE instead,
# as web requests do (config/celery.py), so a connection is reused across tasks (with the
# I/O worker's pool, it goes back to the pool between them).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=1)
# Two stages (docs/reliability.md): the I/O stage (provider calls, polls, downloads, webhook
# deliveries) on the default queue, served by a gevent worker; the CPU stage (decode, verify,
# thumbnail, store) on "<default>.cpu", served by a prefork worker with a few processes.
ATELIER_IO_QUEUE = CELERY_TASK_DEFAULT_QUEUE
ATELIER_CPU_QUEUE = f"{CELERY_TASK_DEFAULT_QUEUE}.cpu"
CELERY_TASK_ROUTES = {
    "jobs.run_generation_job": {"queue": ATELIER_IO_QUEUE},
    "jobs.store_generation_job": {"queue": ATELIER_CPU_QUEUE},
    "jobs.store_partial_image": {"queue": ATELIER_CPU_QUEUE},
    "webhooks.*": {"queue": ATELIER_IO_QUEUE},
}

# Image providers.
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL", "https://api.openai.com/v1")
OPENAI_API_KEY = env_str("OPENAI_API_KEY")
ATELIER_PROVIDER_TIMEOUT = env_int("ATELIER_PROVIDER_TIMEOUT", 300, minimum=1)
# A streamed chat reply (a connection's ``stream``): the longest silence between two of its
# chunks; the whole reply still ends within ATELIER_PROVIDER_TIMEOUT.
ATELIER_CHAT_STREAM_IDLE_TIMEOUT = env_int("ATELIER_CHAT_STREAM_IDLE_TIMEOUT", 120, minimum=1)
ATELIER_DOWNLOAD_TIMEOUT = env_int("ATELIER_DOWNLOAD_TIMEOUT", 60, minimum=1)
# HTTP connections per provider connection per worker process: at least the I/O stage's
# concurrency, so a call never waits for a free one.
ATELIER_PROVIDER_MAX_CONNECTIONS = env_int("ATELIER_PROVIDER_MAX_CONNECTIONS", 1000, minimum=1)
ATELIER_JOB_MAX_ATTEMPTS = env_int("ATELIER_JOB_MAX_ATTEMPTS", 4, minimum=1)
# Largest image we accept from a provider or an upload, in bytes and in pixels.
ATELIER_MAX_IMAGE_BYTES = env_int("ATELIER_MAX_IMAGE_BYTES", 50 * 1024 * 1024, minimum=1024)
# Uploads: at most this many files and this many bytes in one request (413 beyond, unread;
# config.middleware). Each file's declared size is checked against its model before reading.
ATELIER_MAX_REQUEST_BYTES = env_int("ATELIER_MAX_REQUEST_BYTES", 100 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FILES = env_int("ATELIER_MAX_UPLOAD_FILES", 20, minimum=1)
ATELIER_MAX_IMAGE_PIXELS = env_int("ATELIER_MAX_IMAGE_PIXELS", 40_000_000, minimum=1)
ATELIER_THUMBNAIL_SIZE = env_int("ATELIER_THUMBNAIL_SIZE", 384, minimum=32)

SESSION_COOKIE_SECURE = env_bool("DJANGO_SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_CSRF_COOKIE_SECURE", not DEBUG)
# Production defaults are strict (check --deploy passes); a plain-HTTP local setup opts out.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
# The header only makes a site eligible; nothing is submitted to browsers' preload lists.
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
)

# The technical 500 page (DEBUG) and error reports mask provider keys inside values too.
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.reporting.AtelierExceptionReporterFilter"

# Operators: ATELIER_LOG_FORMAT=json writes one JSON object per line for log shippers.
ATELIER_LOG_FORMAT = env_str("ATELIER_LOG_FORMAT", "text")
if ATELIER_LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("ATELIER_LOG_FORMAT must be text or json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ops.logformat.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": ATELIER_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # django-axes logs every successful login at INFO; failures and lock-outs are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# /readyz waits this long for each dependency; /metrics wants a bearer token or an address
# in the allow-list (both empty: metrics are refused).
ATELIER_READYZ_TIMEOUT = env_int("ATELIER_READYZ_TIMEOUT", 3, minimum=1)
ATELIER_METRICS_TOKEN = env_str("ATELIER_METRICS_TOKEN")
ATELIER_METRICS_ALLOW = parse_networks(env_list("ATELIER_METRICS_ALLOW", []))
# Errors (and error-level logs) go to Sentry, from web and workers, when a DSN is set.
SENTRY_DSN = env_str("SENTRY_DSN")
if SENTRY_DSN:
    sentry_init(dsn=SENTRY_DSN, environment=env_str("SENTRY_ENVIRONMENT", "production"))

# Which models the OpenAI-compatible connection serves; empty means every
# available GPT image model. Proxies that still serve DALL·E list them here.
ATELIER_OPENAI_MODELS = env_list("ATELIER_OPENAI_MODELS", [])
# Networks or host names the openai connection's image downloads may reach besides the
# public internet (a self-hosted proxy on the LAN); empty: public addresses only.
try:
    ATELIER_OPENAI_ALLOWED_NETWORKS = allow_list_entries(env_str("ATELIER_OPENAI_ALLOWED_NETWORKS"))
except ValueError as _exc:
    raise ImproperlyConfigured(f"ATELIER_OPENAI_ALLOWED_NETWORKS: {_exc}") from None
# Storage retries cost nothing at the provider (its answer is kept), so they get a longer budget.
ATELIER_STORAGE_MAX_ATTEMPTS = env_int("ATELIER_STORAGE_MAX_ATTEMPTS", 12, minimum=1)
# A hung provider call or download must not hold a worker forever.
CELERY_TASK_SOFT_TIME_LIMIT = ATELIER_PROVIDER_TIMEOUT + 2 * ATELIER_DOWNLOAD_TIMEOUT + 60
CELERY_TASK_TIME_LIMIT = CELERY_TASK_SOFT_TIME_LIMIT + 60
# A claim outlives the hard time limit: once it has expired, the worker that held it is gone.
ATELIER_JOB_LEASE_SECONDS = env_int(
    "ATELIER_JOB_LEASE_SECONDS", CELERY_TASK_TIME_LIMIT + 60, minimum=1
)
# The reaper (Celery beat) re-enqueues jobs whose broker message was lost or whose worker died.
ATELIER_REAPER_INTERVAL = env_int("ATELIER_REAPER_INTERVAL", 60, minimum=1)
ATELIER_QUEUED_STALE_SECONDS = env_int("ATELIER_QUEUED_STALE_SECONDS", 600, minimum=1)
ATELIER_JOB_DEADLINE_SECONDS = env_int("ATELIER_JOB_DEADLINE_SECONDS", 3 * 3600, minimum=60)
CELERY_BEAT_SCHEDULE = {
    "reap-stale-jobs": {"task": "jobs.reap_stale_jobs", "schedule": ATELIER_REAPER_INTERVAL},
}
# In development, whitenoise serves straight from static/ without collectstatic.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Moderation, quotas and abuse controls. A user's Quota row (admin) overrides these defaults.
ATELIER_DEFAULT_DAILY_IMAGES = env_int("ATELIER_DEFAULT_DAILY_IMAGES", 500, minimum=0)
try:
    ATELIER_DEFAULT_MONTHLY_SPEND_USD = Decimal(env_str("ATELIER_DEFAULT_MONTHLY_SPEND_USD", "100"))
except InvalidOperation:
    raise ImproperlyConfigured("ATELIER_DEFAULT_MONTHLY_SPEND_USD must be a number") from None
if not ATELIER_DEFAULT_MONTHLY_SPEND_USD.is_finite() or ATELIER_DEFAULT_MONTHLY_SPEND_USD < 0:
    raise ImproperlyConfigured("ATELIER_DEFAULT_MONTHLY_SPEND_USD must be zero or more")
ATELIER_RATE_LIMIT_JOBS_PER_MINUTE = env_int("ATELIER_RATE_LIMIT_JOBS_PER_MINUTE", 30, minimum=1)
# REST API (/api/) calls per token (or signed-in user) per minute, beside the job limits.
ATELIER_API_REQUESTS_PER_MINUTE = env_int("ATELIER_API_REQUESTS_PER_MINUTE", 600, minimum=1)
# Check prompts with the provider's /v1/moderations endpoint before queueing them.
ATELIER_PREMODERATION = env_bool("ATELIER_PREMODERATION", False)
ATELIER_PREMODERATION_MODEL = env_str("ATELIER_PREMODERATION_MODEL", "omni-moderation-latest")

# More provider connections, as a JSON list of {"name", "family", "base_url", "models",
# "api_key_env" (the variable holding the key) or "api_key"}; see README. Connections can
# also be added in the admin.
try:
    ATELIER_CONNECTIONS = json.loads(env_str("ATELIER_CONNECTIONS") or "[]")
except ValueError as _exc:
    raise ImproperlyConfigured(f"ATELIER_CONNECTIONS must be JSON: {_exc}") from None
if not isinstance(ATELIER_CONNECTIONS, list) or not all(
    isinstance(item, dict) for item in ATELIER_CONNECTIONS
):
    raise ImproperlyConfigured("ATELIER_CONNECTIONS must be a JSON list of objects")
# Midjourney tasks are polled, never waited on: first poll after this many seconds,
# then backing off up to the cap; a task still unfinished after the timeout fails.
ATELIER_MIDJOURNEY_POLL_SECONDS = env_int("ATELIER_MIDJOURNEY_POLL_SECONDS", 2, minimum=1)
ATELIER_MIDJOURNEY_POLL_MAX_SECONDS = env_int("ATELIER_MIDJOURNEY_POLL_MAX_SECONDS", 30, minimum=1)
ATELIER_MIDJOURNEY_TIMEOUT = env_int("ATELIER_MIDJOURNEY_TIMEOUT", 1800, minimum=60)
# Atelier's own address as the Midjourney proxy reaches it: set, each task is submitted with
# a callback URL under it (/hooks/midjourney/...), and polls become a rarer safety net.
ATELIER_PUBLIC_URL = env_str("ATELIER_PUBLIC_URL").rstrip("/")
if ATELIER_PUBLIC_URL and not ATELIER_PUBLIC_URL.startswith(("http://", "https://")):
    raise ImproperlyConfigured("ATELIER_PUBLIC_URL must start with http:// or https://")
ATELIER_MIDJOURNEY_CALLBACK_POLL_SECONDS = env_int(
    "ATELIER_MIDJOURNEY_CALLBACK_POLL_SECONDS", 60, minimum=1
)

# Webhooks (webhooks app). Endpoints reach only public addresses unless listed here (same
# format as ATELIER_OPENAI_ALLOWED_NETWORKS); checked when registered and at every delivery.
try:
    ATELIER_WEBHOOK_ALLOWED_NETWORKS = allow_list_entries(
        env_str("ATELIER_WEBHOOK_ALLOWED_NETWORKS")
    )
except ValueError as _exc:
    raise ImproperlyConfigured(f"ATELIER_WEBHOOK_ALLOWED_NETWORKS: {_exc}") from None
ATELIER_WEBHOOK_TIMEOUT = env_int("ATELIER_WEBHOOK_TIMEOUT", 10, minimum=1)
if ATELIER_WEBHOOK_TIMEOUT > 60:  # the delivery task's soft time limit is 120 s
    raise ImproperlyConfigured("ATELIER_WEBHOOK_TIMEOUT must be at most 60 seconds")
# Seconds before each retry of a failed delivery (about a day in all); then it is given up.
try:
    ATELIER_WEBHOOK_RETRY_SCHEDULE = [
        int(s)
        for s in env_list(
            "ATELIER_WEBHOOK_RETRY_SCHEDULE", ["5", "300", "1800", "7200", "18000", "36000"]
        )
    ]
except ValueError:
    raise ImproperlyConfigured("ATELIER_WEBHOOK_RETRY_SCHEDULE: comma-separated seconds") from None
# Fernet keys sealing endpoints' signing secrets at rest, comma-separated: the first seals,
# every one opens (rotation: put a new key first, run `manage.py webhook_secrets_reseal`,
# then drop the old one). Unset, a key derived from DJANGO_SECRET_KEY (and its fallbacks).
ATELIER_WEBHOOK_KEYS = env_list("ATELIER_WEBHOOK_KEY", [])
for _key in ATELIER_WEBHOOK_KEYS:
    try:
        Fernet(_key)
    except ValueError:
        raise ImproperlyConfigured(
            "ATELIER_WEBHOOK_KEY: each key is 32 url-safe base64 bytes (Fernet.generate_key())"
        ) from None
# Links in webhook payloads point here (the address people open Atelier at).
ATELIER_SITE_URL = env_str("ATELIER_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
CELERY_BEAT_SCHEDULE["webhooks-sweep"] = {"task": "webhooks.sweep", "schedule": 60}

# The OpenAI-compatible endpoint (openai_api, /v1/). A request is held until its job ends, at
# most this long, then answered with an error carrying the job id (the job carries on).
ATELIER_API_HOLD_SECONDS = env_int("ATELIER_API_HOLD_SECONDS", 300, minimum=1)
# How often each web process reads the state of every job its held requests wait on (one
# query for all of them).
ATELIER_API_POLL_MS = env_int("ATELIER_API_POLL_MS", 500, minimum=50)
# A request without an Idempotency-Key repeats an earlier one (same token and body) for this
# long, so client retries never pay twice; 0 turns derived keys off.
ATELIER_API_DERIVED_KEY_SECONDS = env_int("ATELIER_API_DERIVED_KEY_SECONDS", 600, minimum=0)
ATELIER_API_IDEMPOTENCY_KEY_HOURS = env_int("ATELIER_API_IDEMPOTENCY_KEY_HOURS", 24, minimum=1)
# Lifetime of the image links answers with response_format=url carry.
ATELIER_API_IMAGE_URL_SECONDS = env_int("ATELIER_API_IMAGE_URL_SECONDS", 3600, minimum=10)
# The model used when a request names none; empty: the first model a connection offers.
ATELIER_API_DEFAULT_MODEL = env_str("ATELIER_API_DEFAULT_MODEL")
