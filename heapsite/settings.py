"""heapsite settings: every knob is an environment variable read here (see .env.example)."""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} must be at least {minimum}")
    return value


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


HEAPSITE_DATA_DIR = Path(env_str("HEAPSITE_DATA_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    # A generated key kept under var/ so sessions survive restarts without a secret in the repo.
    key_file = HEAPSITE_DATA_DIR / "secret_key"
    if key_file.exists():
        SECRET_KEY = key_file.read_text().strip()
    else:
        import secrets

        HEAPSITE_DATA_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = secrets.token_urlsafe(50)
        key_file.write_text(SECRET_KEY)
        key_file.chmod(0o600)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_rq",
    "csp",
    "axes",
    "heapsite",
    "warehouse",
    "definitions",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "heapsite.middleware.UnstorableInputMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, which would otherwise read an oversized SQL body and answer a bare 400.
    "warehouse.sqlpage.middleware.OversizedSqlBodyMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Times on every page in the person's own zone (their preferences, kept in the session).
    "warehouse.preferences.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "heapsite.middleware.ServiceUnavailableMiddleware",
]
AUTHENTICATION_BACKENDS = [
    # Refuses a login while its username and address are locked out, before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "heapsite.urls"
WSGI_APPLICATION = "heapsite.wsgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

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
                "heapsite.context_processors.environments",
            ],
            # One way to write times and counts on every page (warehouse/display.py).
            "builtins": ["warehouse.templatetags.display"],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured("DATABASE_URL is not set (manage.py starts the embedded PostgreSQL when it is missing)")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL (postgres:// or postgresql://)")
if env_str("HEAPSITE_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("HEAPSITE_TEST_DB_NAME")}

REDIS_URL = env_str("REDIS_URL")
if not REDIS_URL:
    raise ImproperlyConfigured("REDIS_URL is not set (manage.py starts the embedded Redis when it is missing)")
RQ_QUEUES = {
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 3600},
    "sync": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 6 * 3600},
}
RQ_SHOW_ADMIN_LINK = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Django's finders, except that heap.js is found minified (warehouse/ingest/script.py): served so by
# runserver, collected so by collectstatic; the readable source stays static/heap.js.
STATICFILES_FINDERS = [
    "warehouse.ingest.script.MinifiedStaticFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATIC_ROOT = HEAPSITE_DATA_DIR / "staticfiles"

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
# Send the session and CSRF cookies over HTTPS only: turn on wherever heapsite is served over HTTPS.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# Content-Security-Policy of every page (django-csp). App pages load script and style from heapsite
# only; inline <script> needs the page's nonce. Style attributes stay allowed (progress bars, the
# CodeMirror editor); they cannot run code. The demo shop and the RQ dashboard relax it (their views).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'"],
        "style-src-attr": ["'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT failed logins for one username from one
# address, that pair is refused (429) for LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "warehouse.ingest.enrich.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Ingestion (warehouse/ingest, docs/api.md). Limits from docs/architecture.md §8.
INGEST_MAX_BODY_BYTES = env_int("INGEST_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1024)
INGEST_MAX_BATCH = env_int("INGEST_MAX_BATCH", 1000, minimum=1)
# A MaxMind .mmdb file (GeoLite2/GeoIP2 City or Country) for session country/region/city.
GEOIP_DATABASE = env_str("GEOIP_DATABASE")
if GEOIP_DATABASE and not Path(GEOIP_DATABASE).is_file():
    raise ImproperlyConfigured(f"GEOIP_DATABASE={GEOIP_DATABASE!r} is not a file")
# Addresses or networks of reverse proxies whose X-Forwarded-For is believed; empty means the
# client IP is always REMOTE_ADDR.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES: {_proxy!r} is not an IP address or network") from None

# Privacy (docs/privacy.md): raw rows the daily retention job deletes per transaction (each
# batch commits on its own, so ingestion never waits behind a long one).
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 5000, minimum=1)
# Pause between two retention batches (ms), leaving the machine to ingestion: the job is daily and
# need not be fast (bench/retention.py measured ingestion's share with and without it).
RETENTION_BATCH_PAUSE_MS = env_int("RETENTION_BATCH_PAUSE_MS", 100, minimum=0)

# Platform: `manage.py up` and the scheduler.
# Seconds between scheduler ticks (each tick lets the sync decide which environments are due).
SCHEDULER_TICK_SECONDS = env_int("SCHEDULER_TICK_SECONDS", 5, minimum=1)

# SQL page (docs/architecture.md §7, docs/sql.md): input caps, row caps, the per-environment role's limits, per-user limits.
SQLPAGE_MAX_QUERY_BYTES = env_int("SQLPAGE_MAX_QUERY_BYTES", 100_000, minimum=100)
SQLPAGE_MAX_ROWS = env_int("SQLPAGE_MAX_ROWS", 5_000, minimum=1)
SQLPAGE_CSV_MAX_ROWS = env_int("SQLPAGE_CSV_MAX_ROWS", 1_000_000, minimum=1)
# Byte bounds (warehouse/sqlpage/bounded.py): cell text the page holds at most, characters shown of one value,
# bytes of one CSV batch (2,000 rows); and spreadsheet formulas neutralised in CSV cells (OWASP: a leading ').
SQLPAGE_MAX_RESULT_BYTES = env_int("SQLPAGE_MAX_RESULT_BYTES", 20_000_000, minimum=1000)
SQLPAGE_MAX_CELL_CHARS = env_int("SQLPAGE_MAX_CELL_CHARS", 10_000, minimum=10)
SQLPAGE_CSV_MAX_BATCH_BYTES = env_int("SQLPAGE_CSV_MAX_BATCH_BYTES", 32_000_000, minimum=1000)
SQLPAGE_CSV_NEUTRALISE_FORMULAS = env_bool("SQLPAGE_CSV_NEUTRALISE_FORMULAS", True)
SQLPAGE_STATEMENT_TIMEOUT_MS = env_int("SQLPAGE_STATEMENT_TIMEOUT_MS", 30_000, minimum=100)
# A definition's preview, counts on the definitions list and the labeler's counts read the raw
# events with conditions people write: each read stops after this long (below gunicorn's 60 s).
DEFINITIONS_QUERY_TIMEOUT_MS = env_int("DEFINITIONS_QUERY_TIMEOUT_MS", 55_000, minimum=100)
SQLPAGE_IDLE_IN_TRANSACTION_TIMEOUT_MS = env_int("SQLPAGE_IDLE_IN_TRANSACTION_TIMEOUT_MS", 60_000, minimum=1000)
SQLPAGE_TEMP_FILE_LIMIT_KB = env_int("SQLPAGE_TEMP_FILE_LIMIT_KB", 1_048_576, minimum=0)
SQLPAGE_WORK_MEM_KB = env_int("SQLPAGE_WORK_MEM_KB", 16_384, minimum=64)
SQLPAGE_ROLE_CONNECTION_LIMIT = env_int("SQLPAGE_ROLE_CONNECTION_LIMIT", 10, minimum=1)
SQLPAGE_RATE_LIMIT_PER_MINUTE = env_int("SQLPAGE_RATE_LIMIT_PER_MINUTE", 60, minimum=1)
SQLPAGE_MAX_CONCURRENT_PER_USER = env_int("SQLPAGE_MAX_CONCURRENT_PER_USER", 2, minimum=1)
# Other databases on the server whose PUBLIC CONNECT the SQL roles must not inherit (comma-separated); the
# embedded server sets its own postgres and template1 (heapsite/embedded.py).
SQLPAGE_CLOSED_DATABASES = env_list("SQLPAGE_CLOSED_DATABASES")
# SQL page posts up to warehouse.sqlpage.middleware.sql_body_limit() are parsed; bigger ones are audited unread.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(2_621_440, 3 * SQLPAGE_MAX_QUERY_BYTES + 64 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes logs every successful login at INFO; failures and lockouts are warnings.
    "loggers": {"axes": {"level": "WARNING"}},
}

# Capture: the demo site under /demo/ carries the snippet for this environment (its warehouse
# schema name); `?env=<schema>` on any demo page picks another one.
DEMO_ENVIRONMENT = env_str("DEMO_ENVIRONMENT", "main_production")
# The address browsers reach heapsite at (e.g. https://heapsite.example.com): the demo shop's snippet loads
# heap.js and sends events there, like a customer's site. Empty: the address of each request.
HEAPSITE_URL = env_str("HEAPSITE_URL").rstrip("/")

# The visual labeler (docs/labeler.md): requests per minute one labeler session may make.
LABELER_RATE_LIMIT_PER_MINUTE = env_int("LABELER_RATE_LIMIT_PER_MINUTE", 120, minimum=1)

# Warehouse sync (warehouse/sync/, docs/warehouse.md).
# Seconds between scheduled incremental syncs of a new environment (each environment can change it).
SYNC_DEFAULT_INTERVAL_SECONDS = env_int("SYNC_DEFAULT_INTERVAL_SECONDS", 60, minimum=5)
# New events start an incremental sync within about a second (warehouse/freshness.py); the syncs they
# start are at least this many seconds apart per environment, so a steady stream is synced in batches.
# Set it to the sync interval to sync on the interval only.
SYNC_NEW_DATA_DEBOUNCE_SECONDS = env_int("SYNC_NEW_DATA_DEBOUNCE_SECONDS", 5, minimum=0)
# work_mem for the sync's own connection while building (bounds sort/hash memory per operation).
SYNC_WORK_MEM = env_str("SYNC_WORK_MEM", "64MB")
# maintenance_work_mem for the sync's index builds.
SYNC_MAINTENANCE_WORK_MEM = env_str("SYNC_MAINTENANCE_WORK_MEM", "256MB")
# ANALYZE every rebuilt event table in the sync itself. Off: their column statistics
# come from autovacuum (row counts are exact at once); turn it on where autovacuum is disabled.
SYNC_ANALYZE_EVENT_TABLES = env_bool("SYNC_ANALYZE_EVENT_TABLES", False)
# Event tables' stored rows get their user_id and time indexes from this many rows on (below, a
# scan of a few dozen pages is as quick; the indexes were most of a sync's cost per table).
SYNC_INDEX_MIN_ROWS = env_int("SYNC_INDEX_MIN_ROWS", 1000, minimum=0)
# Connections a sync builds on side by side (the pass over raw events, the finished tables); 1: one.
SYNC_PARALLELISM = env_int("SYNC_PARALLELISM", 2, minimum=1)
# Property columns per warehouse table at most (users and sessions also stay within a page per
# row); the most used properties get them, the others stay in the raw store (docs/warehouse.md).
SYNC_MAX_PROPERTY_COLUMNS = env_int("SYNC_MAX_PROPERTY_COLUMNS", 500, minimum=1)
# Time budget (statement_timeout) of every sync statement: this many ms, plus SYNC_STATEMENT_MS_PER_MB
# for each MB of the raw data the environment's sync reads (warehouse/sync/budget.py).
SYNC_STATEMENT_TIMEOUT_MS = env_int("SYNC_STATEMENT_TIMEOUT_MS", 300_000, minimum=100)
SYNC_STATEMENT_MS_PER_MB = env_int("SYNC_STATEMENT_MS_PER_MB", 200, minimum=0)
# An environment whose last successful sync is older than this many of its intervals is "stalled"
# (its pages, `manage.py sync_status` and /healthz say so).
SYNC_STALL_INTERVALS = env_int("SYNC_STALL_INTERVALS", 3, minimum=1)
# Days of sync runs kept (the sync page's list, _sync_history); the last good run always stays.
SYNC_HISTORY_DAYS = env_int("SYNC_HISTORY_DAYS", 30, minimum=1)
# How long the swap waits for readers' locks per attempt, and how many attempts before failing.
SYNC_LOCK_TIMEOUT_MS = env_int("SYNC_LOCK_TIMEOUT_MS", 2000, minimum=10)
SYNC_SWAP_ATTEMPTS = env_int("SYNC_SWAP_ATTEMPTS", 30, minimum=1)
# Events logged via the API that get a table automatically, per environment (first seen first);
# names past it are listed on the sync page and can be turned on by hand (docs/warehouse.md).
SYNC_API_EVENT_TABLES_MAX = env_int("SYNC_API_EVENT_TABLES_MAX", 300, minimum=0)

# Top interactions, the definition preview and the definitions list (docs/raw-browser.md "Estimates"): when the range
# holds more raw events than this (the planner's estimate), they count a block sample holding about
# RAW_ESTIMATE_SAMPLE_EVENTS of its events first, marked "≈", and the exact counts follow (the page fetches them).
RAW_ESTIMATE_ABOVE_EVENTS = env_int("RAW_ESTIMATE_ABOVE_EVENTS", 1_000_000, minimum=0)
RAW_ESTIMATE_SAMPLE_EVENTS = env_int("RAW_ESTIMATE_SAMPLE_EVENTS", 100_000, minimum=1000)
