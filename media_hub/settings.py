"""Media Hub settings, read once from the environment.

Defaults serve the embedded mode (SQLite, local disk, a file-system Celery broker under ``var/``).
``DATABASE_URL``, ``CELERY_BROKER_URL`` and ``S3_BUCKET`` switch on PostgreSQL, Redis and S3.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MEDIA_HUB_VAR_DIR", BASE_DIR / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated IP addresses or CIDR networks (``10.0.0.0/8, 2001:db8::/32, 192.0.2.7``)."""
    networks = []
    for item in env_list(name):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must list IP addresses or CIDR networks, not {item!r}") from exc
    return tuple(networks)


def _secret_key() -> str:
    """Use SECRET_KEY, else a key created once under var/ (embedded mode)."""
    configured = os.environ.get("SECRET_KEY", "")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in {"http", "https"} or not _public.hostname:
    raise ImproperlyConfigured(f"PUBLIC_BASE_URL must be an absolute http(s) URL, not {PUBLIC_BASE_URL!r}")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", f"127.0.0.1,localhost,testserver,{_public.hostname}")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", f"{_public.scheme}://{_public.netloc}")
# Origins of the news site: CORS for the public API and CSP frame-ancestors for embeds.
NEWS_SITE_ORIGINS = env_list("NEWS_SITE_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "corsheaders",
    "django.contrib.staticfiles",
    "episodes",
    "feeds",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "media_hub.middleware.ApiJsonErrorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "media_hub.urls"
WSGI_APPLICATION = "media_hub.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database: SQLite under var/ unless DATABASE_URL names another -------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "media_hub.sqlite3"),
            # WAL lets the web process read while the worker writes.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not :memory:, so worker processes started by end-to-end tests share the test database;
            # one per test run, so concurrent runs on one machine do not trample each other.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Storage: local disk under var/media unless S3_BUCKET is set ------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media")).resolve()

S3_BUCKET = os.environ.get("S3_BUCKET", "")
S3_ENDPOINT_URL = os.environ.get("S3_ENDPOINT_URL", "")
S3_ACCESS_KEY_ID = os.environ.get("S3_ACCESS_KEY_ID", "")
S3_SECRET_ACCESS_KEY = os.environ.get("S3_SECRET_ACCESS_KEY", "")
S3_REGION = os.environ.get("S3_REGION", "us-east-1")
S3_ADDRESSING_STYLE = os.environ.get("S3_ADDRESSING_STYLE", "path")
# A public CDN in front of the bucket; without it, media is handed out through presigned URLs.
S3_PUBLIC_BASE_URL = os.environ.get("S3_PUBLIC_BASE_URL", "").rstrip("/")
S3_SETTINGS_PRESENT = [
    name
    for name in ("S3_BUCKET", "S3_ENDPOINT_URL", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
    if os.environ.get(name)
]

if S3_BUCKET:
    _media_storage: dict[str, object] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": S3_ENDPOINT_URL or None,
            "access_key": S3_ACCESS_KEY_ID or None,
            "secret_key": S3_SECRET_ACCESS_KEY or None,
            "region_name": S3_REGION,
            "addressing_style": S3_ADDRESSING_STYLE,
            "signature_version": "s3v4",
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": 3600,
            "file_overwrite": True,
            "custom_domain": None,
        },
    }
else:
    _media_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": _media_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Media processing ---------------------------------------------------------------------------------------
FFMPEG_BINARY = os.environ.get("FFMPEG_BINARY", "")
MEDIA_MAX_UPLOAD_BYTES = env_int("MEDIA_MAX_UPLOAD_BYTES", 8 * 1024**3)
MEDIA_MAX_DURATION_SECONDS = env_int("MEDIA_MAX_DURATION_SECONDS", 4 * 3600)
MEDIA_MAX_WIDTH = env_int("MEDIA_MAX_WIDTH", 4096)
MEDIA_MAX_HEIGHT = env_int("MEDIA_MAX_HEIGHT", 4096)
MEDIA_PROBE_TIMEOUT_SECONDS = env_int("MEDIA_PROBE_TIMEOUT_SECONDS", 30)
MEDIA_JOB_MAX_ATTEMPTS = env_int("MEDIA_JOB_MAX_ATTEMPTS", 3)
MEDIA_JOB_LEASE_SECONDS = env_int("MEDIA_JOB_LEASE_SECONDS", 120)
# A queued job not picked up for this long has its message sent again (a broker may have lost it).
MEDIA_JOB_RESEND_SECONDS = env_int("MEDIA_JOB_RESEND_SECONDS", 900)
# Scratch space for ffmpeg: sources are downloaded here and renditions written before they are stored.
MEDIA_WORK_DIR = Path(os.environ.get("MEDIA_WORK_DIR", VAR_DIR / "work")).resolve()
# A video longer than this (seconds; 0: never) is encoded in chunks of about MEDIA_CHUNK_SECONDS by several
# workers at once (one task per chunk, the sound once, then a join); boundaries fall on 6 s segment multiples.
MEDIA_CHUNK_AFTER_SECONDS = env_int("MEDIA_CHUNK_AFTER_SECONDS", 240)
MEDIA_CHUNK_SECONDS = env_int("MEDIA_CHUNK_SECONDS", 60)

# --- Celery: a file-system broker under var/ unless CELERY_BROKER_URL is set -----------------------------
# Two queues: "media" for transcoding (workers with cores to spare), "default" for light work (feeds, pings,
# analytics, the sweeper). One beat process schedules the periodic tasks.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
# A job may run this long: the longest allowed source at 3× its duration (slow video ladders), plus fetching
# and storing. The soft limit raises in the task (the job fails with a reason); the hard limit kills the child.
MEDIA_JOB_SOFT_TIME_LIMIT = env_int("MEDIA_JOB_SOFT_TIME_LIMIT", 3 * MEDIA_MAX_DURATION_SECONDS + 600)
MEDIA_JOB_TIME_LIMIT = MEDIA_JOB_SOFT_TIME_LIMIT + 300
# A job that failed on storage or database trouble is retried after base × 2^(attempt-1) seconds (≤ 300).
MEDIA_JOB_RETRY_BACKOFF_SECONDS = env_int("MEDIA_JOB_RETRY_BACKOFF_SECONDS", 5)
MEDIA_JOB_SWEEP_SECONDS = env_int("MEDIA_JOB_SWEEP_SECONDS", 60)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    # The folders must exist before the first message is sent (a web process may enqueue before any worker ran).
    for _folder in ("processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # Longer than the longest job so Redis does not redeliver a transcode that is still running. (A worker
    # that dies is noticed sooner by the job lease and the sweeper, so nothing waits this long.)
    _visibility_timeout = env_int("CELERY_VISIBILITY_TIMEOUT", MEDIA_JOB_TIME_LIMIT + 3600)
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout}
    if _visibility_timeout <= MEDIA_JOB_TIME_LIMIT:
        raise ImproperlyConfigured(
            f"CELERY_VISIBILITY_TIMEOUT must exceed the job time limit ({MEDIA_JOB_TIME_LIMIT} s), or Redis "
            "hands running transcodes to a second worker."
        )
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep retrying the broker forever (a Redis restart must not end the worker), also at start-up.
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"episodes.process_media": {"queue": "media"}, "episodes.process_part": {"queue": "media"}}
CELERY_TASK_ANNOTATIONS = {
    "episodes.process_media": {"soft_time_limit": MEDIA_JOB_SOFT_TIME_LIMIT, "time_limit": MEDIA_JOB_TIME_LIMIT},
    "episodes.process_part": {"soft_time_limit": MEDIA_JOB_SOFT_TIME_LIMIT, "time_limit": MEDIA_JOB_TIME_LIMIT},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON logging below
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-jobs": {"task": "episodes.sweep_stale_jobs", "schedule": float(MEDIA_JOB_SWEEP_SECONDS)},
}

# --- Logging: JSON lines on stderr; metrics at /metrics ------------------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# When set, /metrics answers only to "Authorization: Bearer <METRICS_TOKEN>" (else keep it off the public LB).
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["stderr"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Public API (episodes/api) ------------------------------------------------------------------------------
# The news site calls the public API from browsers on these origins; producers' tools are server-side.
CORS_ALLOWED_ORIGINS = NEWS_SITE_ORIGINS
CORS_URLS_REGEX = r"^/(api/v1/|oembed).*$"
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
CORS_EXPOSE_HEADERS = ["ETag", "Last-Modified"]
# Resumable uploads: part size bounds and how long an unfinished upload is kept.
UPLOAD_PART_MIN_BYTES = env_int("UPLOAD_PART_MIN_BYTES", 5 * 1024 * 1024)
UPLOAD_PART_MAX_BYTES = env_int("UPLOAD_PART_MAX_BYTES", 64 * 1024 * 1024)
UPLOAD_EXPIRY_SECONDS = env_int("UPLOAD_EXPIRY_SECONDS", 24 * 3600)
# Optional webhook to the CMS when media becomes ready (HMAC-SHA256 signed with the secret).
CMS_WEBHOOK_URL = os.environ.get("CMS_WEBHOOK_URL", "")
CMS_WEBHOOK_SECRET = os.environ.get("CMS_WEBHOOK_SECRET", "")
# Abandoned resumable uploads (no part received for UPLOAD_EXPIRY_SECONDS) are discarded by this task.
CELERY_BEAT_SCHEDULE["expire-uploads"] = {"task": "episodes.expire_uploads", "schedule": 15 * 60.0}

# --- Feeds, delivery and download analytics (feeds/) -------------------------------------------------------
WEBSUB_HUB_URL = os.environ.get("WEBSUB_HUB_URL", "")
FEED_CACHE_SECONDS = env_int("FEED_CACHE_SECONDS", 300)
# Listener ids are salted hashes of IP + User-Agent; the salt is derived from SECRET_KEY unless given.
ANALYTICS_SALT = os.environ.get("ANALYTICS_SALT", "")
# Raw listener windows (pseudonymous) are deleted this many days after they started; daily counts are kept.
# At least 1: a request looks for a window its listener opened the day before.
DOWNLOAD_EVENTS_RETENTION_DAYS = env_int("DOWNLOAD_EVENTS_RETENTION_DAYS", 90)
if DOWNLOAD_EVENTS_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("DOWNLOAD_EVENTS_RETENTION_DAYS must be at least 1 (windows last 24 hours)")
# Reverse proxies / load balancers in front of the web processes. Only when REMOTE_ADDR is one of them is the
# client's address taken from X-Forwarded-For (its right-most address that is not a trusted proxy); empty: never.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")
# Built feeds are cached per web process, keyed by a fingerprint of their inputs (feeds.rendering). A 2,000-episode
# feed is ~4.7 MB (plain + gzipped XML), a 100-episode page ~0.25 MB. feeds.feed_cache bounds the bytes held and
# shares each value with rendering's decoded copy, so a process holds about FEED_CACHE_MAX_BYTES, plus at most
# rendering's 8 decoded copies of feeds already evicted (see the README).
FEED_CACHE_MAX_BYTES = env_int("FEED_CACHE_MAX_BYTES", 32 * 1024 * 1024)
# Each web process also remembers every episode's serialised <item> by its feed data (feeds.rendering), so a
# rebuild after an edit or a publish builds only the changed items: ~2.3 KB an episode, ~4.5 MB for 2,000.
FEED_ITEM_MEMO_MAX_BYTES = env_int("FEED_ITEM_MEMO_MAX_BYTES", 32 * 1024 * 1024)
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "feeds": {
        "BACKEND": "feeds.feed_cache.FeedCache",
        "LOCATION": "feeds",
        "OPTIONS": {"MAX_BYTES": FEED_CACHE_MAX_BYTES, "MAX_ENTRIES": env_int("FEED_CACHE_MAX_ENTRIES", 256)},
    },
}
CELERY_TASK_ROUTES["feeds.*"] = {"queue": "default"}
CELERY_BEAT_SCHEDULE["feeds-websub-scan"] = {"task": "feeds.websub_scan", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["feeds-prune-download-events"] = {"task": "feeds.prune_download_events", "schedule": 3600.0}
# Feed items stored ahead of requests (feeds.items): a no-op read of keys unless a deploy or an import left some.
CELERY_BEAT_SCHEDULE["feeds-prepare-items"] = {"task": "feeds.prepare_items", "schedule": 300.0}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", _public.scheme == "https")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"
