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


# The embedded mode is the one without a database server: one machine, so a key kept under var/ is safe there.
EMBEDDED = not os.environ.get("DATABASE_URL", "")


def _secret_key() -> str:
    """SECRET_KEY (or the file SECRET_KEY_FILE names); only the embedded mode may create one under var/."""
    configured = os.environ.get("SECRET_KEY", "")
    key_path = os.environ.get("SECRET_KEY_FILE", "")
    if configured and key_path:
        raise ImproperlyConfigured("Set SECRET_KEY or SECRET_KEY_FILE, not both.")
    if key_path:
        try:
            configured = Path(key_path).read_text().strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"SECRET_KEY_FILE {key_path!r} cannot be read: {exc}") from exc
    if configured:
        if len(configured) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters long.")
        return configured
    if not EMBEDDED:
        # Several web machines each inventing a key would reject each other's sessions, CSRF tokens and signed
        # URLs, and change the listener pseudonyms machine by machine: a shared deployment must share one key.
        raise ImproperlyConfigured(
            "SECRET_KEY (or SECRET_KEY_FILE) is required when DATABASE_URL is set: every web machine and worker "
            "must use the same key. Create one with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
        )
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
    "episodes.studio.apps.StudioConfig",  # the producer studio's templates and scripts
    "episodes.studio.apps.StudioAdminConfig",  # django.contrib.admin with a site that lets show members in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "corsheaders",
    "django.contrib.staticfiles",
    "episodes",
    "feeds",
    "members",
    "imports",
]

MIDDLEWARE = [
    "media_hub.middleware.UrlLengthMiddleware",
    "media_hub.middleware.ForwardedProtoMiddleware",
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
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # One psycopg pool per process, at most DATABASE_POOL_MAX_SIZE connections (one per thread that may
        # query at once: gunicorn's --threads; a Celery child runs one job at a time). The README's connection
        # budget multiplies it out. Idle connections are closed after DATABASE_POOL_MAX_IDLE seconds.
        DATABASE_POOL_MAX_SIZE = env_int("DATABASE_POOL_MAX_SIZE", 4)
        DATABASE_POOL_TIMEOUT = env_int("DATABASE_POOL_TIMEOUT", 10)
        if DATABASE_POOL_MAX_SIZE < 1:
            raise ImproperlyConfigured("DATABASE_POOL_MAX_SIZE must be at least 1")
        DATABASES["default"]["OPTIONS"] = {
            **DATABASES["default"].get("OPTIONS", {}),
            "pool": {
                "min_size": 0,
                "max_size": DATABASE_POOL_MAX_SIZE,
                "timeout": DATABASE_POOL_TIMEOUT,
                "max_idle": env_int("DATABASE_POOL_MAX_IDLE", 300),
            },
        }
        # With the pool, Django checks a connection as it takes it: one PostgreSQL dropped (a restart, a
        # failover) is replaced, not handed to a request.
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = 60
        DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "media_hub.sqlite3"),
            # Keep each thread's connection: opening one (and its PRAGMAs) cost more than a cached API answer.
            "CONN_MAX_AGE": 600,
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
# Pages that upload straight to the bucket besides PUBLIC_BASE_URL's (setup_storage writes the bucket's CORS rule).
S3_UPLOAD_ORIGINS = [o.strip() for o in os.environ.get("S3_UPLOAD_ORIGINS", "").split(",") if o.strip()]
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
# Tags are rewritten this long after the last edit of what they carry: a burst of edits is rewritten once.
TAG_REWRITE_DELAY_SECONDS = env_int("TAG_REWRITE_DELAY_SECONDS", 10)
# Scratch space for ffmpeg: sources are downloaded here and renditions written before they are stored.
MEDIA_WORK_DIR = Path(os.environ.get("MEDIA_WORK_DIR", VAR_DIR / "work")).resolve()
# A video longer than this (seconds; 0: never) is encoded in chunks of about MEDIA_CHUNK_SECONDS by several
# workers at once (one task per chunk, the sound once, then a join); boundaries fall on 6 s segment multiples.
MEDIA_CHUNK_AFTER_SECONDS = env_int("MEDIA_CHUNK_AFTER_SECONDS", 240)
MEDIA_CHUNK_SECONDS = env_int("MEDIA_CHUNK_SECONDS", 60)

# --- Celery: a file-system broker under var/ unless CELERY_BROKER_URL is set -----------------------------
# Three queues: "media" for transcoding (workers with cores to spare), "control" for beat's recovery work (the
# sweeper: leases, sends and resends; WebSub resends) on a small always-on worker that transcodes never starve,
# "default" for light work (feeds, pings, analytics). One beat process (media_hub.beat) schedules periodic tasks.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "broker"
# A job may run this long: the longest allowed source at 3× its duration (slow video ladders), plus fetching
# and storing. The soft limit raises in the task (the job fails with a reason); the hard limit kills the child.
MEDIA_JOB_SOFT_TIME_LIMIT = env_int("MEDIA_JOB_SOFT_TIME_LIMIT", 3 * MEDIA_MAX_DURATION_SECONDS + 600)
MEDIA_JOB_TIME_LIMIT = MEDIA_JOB_SOFT_TIME_LIMIT + 300
# A job that failed on storage or database trouble is retried after base × 2^(attempt-1) seconds (≤ 300).
MEDIA_JOB_RETRY_BACKOFF_SECONDS = env_int("MEDIA_JOB_RETRY_BACKOFF_SECONDS", 5)
MEDIA_JOB_SWEEP_SECONDS = env_int("MEDIA_JOB_SWEEP_SECONDS", 60)
# A job stopped because storage or the database was down waits for it instead of failing: retried after
# base × 2^n seconds up to this ceiling, this many times (24 ≈ 8 hours with the defaults), without spending one
# of its MEDIA_JOB_MAX_ATTEMPTS.
MEDIA_JOB_OUTAGE_RETRIES = env_int("MEDIA_JOB_OUTAGE_RETRIES", 24)
MEDIA_JOB_OUTAGE_BACKOFF_MAX_SECONDS = env_int("MEDIA_JOB_OUTAGE_BACKOFF_MAX_SECONDS", 1800)
# Workers and beat write a heartbeat this often; one older than 3 beats counts as missing (/health/status).
PROCESS_HEARTBEAT_SECONDS = env_int("PROCESS_HEARTBEAT_SECONDS", 15)
# The active beat renews its database lease every tick; a standby beat takes over this long after it stopped.
BEAT_LEASE_SECONDS = env_int("BEAT_LEASE_SECONDS", 30)
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
    # max_retries=0: a producer (a web request, beat, a task sending a job) that finds Redis down gives up at once
    # instead of retrying for seconds; the job row is the outbox and the sweeper sends it later. Workers keep
    # reconnecting forever regardless (CELERY_BROKER_CONNECTION_MAX_RETRIES below).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": _visibility_timeout, "max_retries": 0}
    if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
        # kombu's Redis transport with the fix for a worker that exits when Redis restarts (media_hub/broker.py).
        CELERY_BROKER_TRANSPORT = "media_hub.broker:Transport"
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
CELERY_TASK_ROUTES = {
    "episodes.process_media": {"queue": "media"},
    "episodes.render_clip": {"queue": "media"},
    "episodes.process_part": {"queue": "media"},
    "episodes.sweep_stale_jobs": {"queue": "control"},
    "feeds.websub_scan": {"queue": "control"},
}
CELERY_TASK_ANNOTATIONS = {
    "episodes.process_media": {"soft_time_limit": MEDIA_JOB_SOFT_TIME_LIMIT, "time_limit": MEDIA_JOB_TIME_LIMIT},
    "episodes.process_part": {"soft_time_limit": MEDIA_JOB_SOFT_TIME_LIMIT, "time_limit": MEDIA_JOB_TIME_LIMIT},
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False  # keep the JSON logging below (media_hub.celery also skips Celery's own)
# Beat's record of when each periodic task last ran: a file only beat writes (the README's runbook puts VAR_DIR on
# a writable local disk, e.g. /var/lib/media-hub), not wherever beat happens to be started.
CELERY_BEAT_SCHEDULE_FILENAME = os.environ.get("CELERY_BEAT_SCHEDULE_FILENAME", str(VAR_DIR / "celerybeat-schedule"))
# Beat holds a lease in the database (one active beat, the others stand by) and leaves its tick there.
CELERY_BEAT_SCHEDULER = "media_hub.beat:SingleBeatScheduler"
CELERY_BEAT_MAX_LOOP_INTERVAL = 5
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
# The API, oEmbed, and the public pages (their <link rel="alternate" type="application/json+oembed"> discovery).
CORS_URLS_REGEX = r"^/(api/v1/|oembed|videos/|episodes/|sitemaps/).*$"
# POST for /api/v1/articles/lookup (an article by a URL too long for a query string). API writes need a bearer
# token, never a cookie, so a cross-origin POST carries no ambient authority.
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS", "POST"]
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
# Member-only feeds (members/): the webhook's shared secret (empty: the webhook answers 503), how long a signed
# call stays valid, how long a member's media redirect (S3 presigned URL) lives, and when a token counts as shared.
MEMBERS_WEBHOOK_SECRET = os.environ.get("MEMBERS_WEBHOOK_SECRET", "")
MEMBERS_WEBHOOK_TOLERANCE_SECONDS = env_int("MEMBERS_WEBHOOK_TOLERANCE_SECONDS", 300)
MEMBERS_MEDIA_URL_SECONDS = env_int("MEMBERS_MEDIA_URL_SECONDS", 300)
MEMBERS_SHARING_NETWORKS = env_int("MEMBERS_SHARING_NETWORKS", 6)
MEMBERS_SHARING_APPS = env_int("MEMBERS_SHARING_APPS", 4)
MEMBERS_USE_RETENTION_DAYS = env_int("MEMBERS_USE_RETENTION_DAYS", 30)
# Importing shows from RSS (imports/): fetching private, loopback and link-local addresses is refused unless allowed
# (tests allow it for their 127.0.0.1 servers); feed documents are bounded; enclosures by MEDIA_MAX_UPLOAD_BYTES.
IMPORT_ALLOW_PRIVATE_NETWORKS = env_bool("IMPORT_ALLOW_PRIVATE_NETWORKS", False)
IMPORT_MAX_FEED_BYTES = env_int("IMPORT_MAX_FEED_BYTES", 50 * 1024 * 1024)
IMPORT_MAX_ATTEMPTS = env_int("IMPORT_MAX_ATTEMPTS", 5)
# Raw listener windows (pseudonymous) are deleted this many days after they started; daily counts are kept.
# At least 1: a request looks for a window its listener opened the day before.
DOWNLOAD_EVENTS_RETENTION_DAYS = env_int("DOWNLOAD_EVENTS_RETENTION_DAYS", 90)
if DOWNLOAD_EVENTS_RETENTION_DAYS < 1:
    raise ImproperlyConfigured("DOWNLOAD_EVENTS_RETENTION_DAYS must be at least 1 (windows last 24 hours)")
# The OPAWG user-agent list (v2) put here by `manage.py refresh_user_agents`; without it the v1 list shipped on PyPI
# (podcast-app-user-agents) is used. Our own additions live in feeds/user_agents/additions.json either way.
USER_AGENTS_DIR = Path(os.environ.get("USER_AGENTS_DIR", VAR_DIR / "user-agents")).resolve()
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
CELERY_BEAT_SCHEDULE["members-prune"] = {"task": "members.prune", "schedule": 3600.0}
CELERY_BEAT_SCHEDULE["imports-sweep"] = {"task": "imports.sweep", "schedule": 60.0}
# Feed items stored ahead of requests (feeds.items): a no-op read of keys unless a deploy or an import left some.
CELERY_BEAT_SCHEDULE["feeds-prepare-items"] = {"task": "feeds.prepare_items", "schedule": 300.0}

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", _public.scheme == "https")
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# TLS ends at the load balancer: "X-Forwarded-Proto: https" makes a request secure, but only when it comes from a
# TRUSTED_PROXIES peer (media_hub.middleware.ForwardedProtoMiddleware drops the header from anyone else).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXIES else None
# HSTS on secure responses when the public site is https (browsers then never try http again for this long).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if _public.scheme == "https" and not DEBUG else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
X_FRAME_OPTIONS = "DENY"
