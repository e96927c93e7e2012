"""Settings, all from the environment, with safe development defaults.

`DJANGO_ENV=production` switches on the hardened mode in which `manage.py check --deploy` is clean;
it then refuses to start without a real `SECRET_KEY`. Everything else is a plain environment variable
listed in the README.
"""

import os
from collections.abc import Mapping
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def field_encryption_keys(environ: Mapping[str, str], default: str) -> list[str]:
    """FIELD_ENCRYPTION_KEYS: comma-separated, newest first (whitespace stripped, empties dropped).
    Unset or empty: the single FIELD_ENCRYPTION_KEY of before (taken as is), else `default`."""
    keys = [item.strip() for item in environ.get("FIELD_ENCRYPTION_KEYS", "").split(",") if item.strip()]
    # An empty FIELD_ENCRYPTION_KEY counts as unset: "" would otherwise become key material.
    return keys or [environ.get("FIELD_ENCRYPTION_KEY", "").strip() or default]


PRODUCTION = os.environ.get("DJANGO_ENV", "development") == "production"
DEBUG = env_bool("DEBUG", not PRODUCTION)

_DEV_SECRET = "dev-only-secret-key-change-me-in-production-0123456789abcdefghijklmnop"  # noqa: S105 - development only
SECRET_KEY = os.environ.get("SECRET_KEY", "" if PRODUCTION else _DEV_SECRET)
if PRODUCTION and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random string of 50+ characters in production.")

# Key material for API-key hashes and for encrypting secrets at rest (webhook secrets, the dashboard's
# store keys). Separate from SECRET_KEY so that rotating session signing does not invalidate API keys.
API_KEY_HASH_SECRET = os.environ.get("API_KEY_HASH_SECRET", SECRET_KEY)
# Newest first: new values use the first, all of them decrypt (secretbox; `manage.py reencrypt_secrets`).
FIELD_ENCRYPTION_KEYS = field_encryption_keys(os.environ, SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "ninja",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "secretbox",
    "orders",
    "dashboard",
    # After `orders`, whose resilient `db_worker` takes the place of this app's own.
    "django_tasks_db",
]

MIDDLEWARE = [
    "orders.middleware.RequestIdMiddleware",
    "orders.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orders.middleware.ApiErrorEnvelopeMiddleware",
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
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Embedded default: one SQLite file in WAL mode, so `make run` needs no server. CI and production
# set DATABASE_URL to PostgreSQL.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;",
            "transaction_mode": "IMMEDIATE",
        }
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Background work goes through django.tasks; the broker is configuration. `TASKS_BACKEND=rq` (with the
# `redis` extra installed and REDIS_URL set) scales out with `manage.py rqworker refunds webhooks default`.
# Refunds and webhook deliveries have queues (and workers) of their own: neither can starve the other.
TASK_QUEUES = ["default", "refunds", "webhooks"]
# django-rq: every queue on REDIS_URL; jobs are django-tasks-rq's (they run django.tasks tasks), and the
# worker is ours (orders/management/commands/rqworker.py: usable database connections for every job,
# a new worker after a Redis outage).
RQ_QUEUES = {name: {"URL": REDIS_URL} for name in TASK_QUEUES}
RQ = {
    "JOB_CLASS": "django_tasks_rq.Job",
    "WORKER_CLASS": "orders.management.commands.rqworker.ResilientWorker",
}
if os.environ.get("TASKS_BACKEND", "db") == "rq":
    if not REDIS_URL:
        raise ImproperlyConfigured("TASKS_BACKEND=rq needs REDIS_URL (e.g. redis://127.0.0.1:6379/0).")
    INSTALLED_APPS += ["django_rq", "django_tasks_rq"]
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": TASK_QUEUES}}
else:
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": TASK_QUEUES}}
# Whether each pending webhook delivery is also handed to the task backend as a `deliver_webhook` task
# (orders/webhooks/delivery.py). Needed when plain task workers send webhooks (`rqworker … webhooks …`,
# `db_worker --queue-name webhooks`): on by default with RQ, the scale-out path. Off by default with the
# database backend, whose deployments run `manage.py webhook_worker` (`make run` does): it claims due
# deliveries straight from the outbox, so a task per delivery would only be written and marked done.
WEBHOOK_DELIVERY_TASKS = env_bool("WEBHOOK_DELIVERY_TASKS", os.environ.get("TASKS_BACKEND", "db") == "rq")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "staticfiles"))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:home"
LOGOUT_REDIRECT_URL = "dashboard:login"

# Outgoing mail (customer notifications). Console in development; SMTP in production or when
# EMAIL_HOST is set.
if PRODUCTION or os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ.get("EMAIL_HOST", "localhost"),
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "orders@localhost")

# Content-Security-Policy without inline scripts (Django's built-in CSP middleware).
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie; kept default-compatible

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# The Orders API.
# An API key's row is re-read at most this often per process (orders/auth.py); a key revoked in another
# process stops working within this many seconds. 0 reads it on every request.
API_KEY_CACHE_SECONDS = float(os.environ.get("API_KEY_CACHE_SECONDS", "5"))
# Lists count matching rows exactly up to this many; beyond it the order list gives PostgreSQL's estimate.
# Counting is a scan of up to this many index entries on every list request.
API_COUNT_CAP = int(os.environ.get("API_COUNT_CAP", "1000"))
# Largest request body in bytes (Django's default, 2.5 MB: ~10× a 250-item order). Under /api/ a larger
# one is 413 PAYLOAD_TOO_LARGE (orders/middleware.py), from Content-Length or while reading.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", str(2_621_440)))
# The payment gateway that carries out refunds (orders/payments.py); the default records and succeeds.
PAYMENT_GATEWAY = os.environ.get("PAYMENT_GATEWAY", "orders.payments.RecordingGateway")
# Webhook targets on loopback over plain http are for development and tests only.
WEBHOOKS_ALLOW_LOOPBACK = env_bool("WEBHOOKS_ALLOW_LOOPBACK", not PRODUCTION)
# Embedded dashboard: empty means the dashboard talks to this project's own API in-process.
DASHBOARD_API_BASE_URL = os.environ.get("DASHBOARD_API_BASE_URL", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "orders.middleware.RequestIdLogFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        # Django's own console handler would print each of its records a second time.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.db.backends": {"level": "WARNING"},
    },
}

# The dashboard's calls to the Orders API: seconds per call (read; connect is capped at 3 s) and retries
# of reads (and of writes that carry an Idempotency-Key) on connection errors and 5xx.
DASHBOARD_API_TIMEOUT = float(os.environ.get("DASHBOARD_API_TIMEOUT", "10"))
DASHBOARD_API_RETRIES = int(os.environ.get("DASHBOARD_API_RETRIES", "2"))
# A carrier's tracking page: `{number}` is replaced by the URL-quoted tracking number (dashboard/tracking.py).
# Matched on the order's `metadata.carrier`, ignoring case; an unknown carrier shows the number without a link.
DASHBOARD_CARRIER_TRACKING_URLS = {
    "UPS": "https://www.ups.com/track?tracknum={number}",
    "FedEx": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "DHL": "https://www.dhl.com/global-en/home/tracking/tracking-express.html?submit=1&tracking-id={number}",
    "USPS": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "BRT": "https://vas.brt.it/vas/sped_det_show.hsm?Nspediz={number}",
    "GLS": "https://gls-group.com/GROUP/en/parcel-tracking?match={number}",
    "Poste Italiane": "https://www.poste.it/cerca/index.html#/risultati-spedizioni/{number}",
    "Royal Mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "DPD": "https://www.dpd.co.uk/apps/tracking/?parcel={number}",
    "Evri": "https://www.evri.com/track/parcel/{number}",
}
# Sign-in throttling: this many failures per username+IP lock that pair out for the lockout period.
DASHBOARD_LOGIN_MAX_FAILURES = 5
DASHBOARD_LOGIN_LOCKOUT_SECONDS = 15 * 60
# The header's store switcher on every dashboard page.
TEMPLATES[0]["OPTIONS"]["context_processors"].append("dashboard.context_processors.stores")  # type: ignore[index]

# Webhook delivery (orders/webhooks). Pause in seconds after each failed attempt (±jitter): 11 attempts
# spread over ~47 h, so a receiver that is down for a day still gets every event.
# (The environment may shorten them, as bench/faults.py does; production keeps the defaults.)
WEBHOOK_RETRY_SCHEDULE = [
    int(s) for s in env_list("WEBHOOK_RETRY_SCHEDULE", "10,30,120,600,1800,3600,10800,21600,43200,86400")
]
WEBHOOK_RETRY_JITTER = 0.2
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "10"))
# A claimed attempt is not due again before this (a live send can never be taken over).
WEBHOOK_CLAIM_LEASE_SECONDS = int(os.environ.get("WEBHOOK_CLAIM_LEASE_SECONDS", "120"))
# The sweep re-enqueues a due delivery whose task has not run this long after it was due and enqueued.
WEBHOOK_SWEEP_GRACE_SECONDS = int(os.environ.get("WEBHOOK_SWEEP_GRACE_SECONDS", "30"))
# A pending refund is looked at by the recovery sweep once it is this old; a refund task "running" for
# longer than the lease is taken for dead (its worker died during the gateway call) and queued again.
REFUND_SWEEP_GRACE_SECONDS = int(os.environ.get("REFUND_SWEEP_GRACE_SECONDS", "30"))
REFUND_TASK_LEASE_SECONDS = int(os.environ.get("REFUND_TASK_LEASE_SECONDS", "120"))
WEBHOOKS_MAX_PER_STORE = 10

# Rate limits per API key (orders/ratelimit.py, spec §5). "burst": the most one minute may allow when
# the previous minute left capacity unused. Counters in the database, or in Redis when REDIS_URL is set.
RATE_LIMIT_ENABLED = env_bool("RATE_LIMIT_ENABLED", True)
RATE_LIMIT_TIERS = {
    "standard": {"per_minute": 100, "per_hour": 5_000, "burst": 150},
    "premium": {"per_minute": 1_000, "per_hour": 50_000, "burst": 1_000},
}
RATE_LIMIT_BACKEND = os.environ.get("RATE_LIMIT_BACKEND", "cache" if REDIS_URL else "database")

# Dashboard bulk jobs (dashboard/bulk/): the most orders one job may select, and how long a running job
# may go without saving progress before `manage.py bulk_jobs_sweep` takes its worker for dead and
# queues the job again (it resumes where it stopped; the API replays what was already sent).
BULK_JOB_MAX_ORDERS = int(os.environ.get("BULK_JOB_MAX_ORDERS", "10000"))
BULK_JOB_LEASE_SECONDS = int(os.environ.get("BULK_JOB_LEASE_SECONDS", "120"))
# API calls a job keeps in flight at once (each waits mostly on the API and its database).
BULK_JOB_CONCURRENCY = int(os.environ.get("BULK_JOB_CONCURRENCY", "4"))
