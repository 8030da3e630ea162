"""Settings for Virtual Office, read from the environment (see `.env.example`)."""

import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_ice_servers(name: str) -> list[dict]:
    """A JSON list of WebRTC RTCIceServer objects, e.g. `[{"urls": "stun:stun.example.com:3478"},
    {"urls": "turn:turn.example.com", "username": "u", "credential": "p"}]`."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return []
    try:
        servers = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not valid JSON: {exc}") from None
    if not isinstance(servers, list) or not all(
        isinstance(server, dict) and isinstance(server.get("urls"), (str, list)) and server["urls"]
        for server in servers
    ):
        raise ImproperlyConfigured(f'{name} must be a JSON list of objects with "urls": [{{"urls": "stun:host"}}].')
    return servers


DEBUG = env_bool("DJANGO_DEBUG", False)
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and os.environ.get("DJANGO_REQUIRE_SECRET") == "1":
        raise RuntimeError("DJANGO_SECRET_KEY must be set")
    # Django's "django-insecure-" prefix makes `check --deploy` flag a deployment that forgot the key.
    SECRET_KEY = "django-insecure-virtual-office-dev-key-change-me-in-production-0123456789"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "guardian",
    "drf_spectacular",
    # Swagger UI and ReDoc served from our own static files: the docs work with no internet.
    "drf_spectacular_sidecar",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "virtual_office",
    "sso",
    "spaces",
    "presence",
    "messaging",
    "calling",
    "talk",
    "notifications",
    "search",
    "office",
    "demo",
    "console",
    "exports",
    "webhooks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The client's address for the audit log of whatever the request changes (console.context).
    "console.context.AuditContextMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "virtual_office.urls"
ASGI_APPLICATION = "virtual_office.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql") and env_bool("DATABASE_POOL", True):
    # Socket actions run through database_sync_to_async, which closes the connection after each
    # call when CONN_MAX_AGE is 0: without a pool every message.send opens a new PostgreSQL
    # connection (~8 ms). psycopg's pool hands out an open one instead.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": int(os.environ.get("DATABASE_POOL_SIZE", "40")),
        # Past this wait for a free connection the action fails with `unavailable` (REST: 503)
        # instead of hanging: a storm queues for a moment, it never piles up without bound.
        "timeout": float(os.environ.get("DATABASE_POOL_TIMEOUT", "5")),
    }
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite is the embedded single-process default; wait instead of failing on a busy file.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "virtual_office.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
    # Signs in people coming back from their company's OpenID Connect provider (sso/).
    "allauth.account.auth_backends.AuthenticationBackend",
]

# Single sign-on (django-allauth, OpenID Connect only). Each company's provider is an allauth
# SocialApp set from the console (/manage/sso/); sso.adapters decides who may sign in. allauth's own
# sign-up and e-mail verification stay off: people join by invitation or through their company's
# provider, which vouches for their address.
ACCOUNT_ADAPTER = "sso.adapters.ClosedAccountAdapter"
SOCIALACCOUNT_ADAPTER = "sso.adapters.CompanySocialAccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # sso.adapters links accounts, within one company only
SOCIALACCOUNT_STORE_TOKENS = False
SOCIALACCOUNT_REQUESTS_TIMEOUT = 5
ANONYMOUS_USER_NAME = None
GUARDIAN_MONKEY_PATCH_USER = False

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

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG and env_bool("DJANGO_COMPRESS_STATIC", False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True
# Files browsers ask for at the site's root (/favicon.ico), served as they are.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# Mail (invitations, password reset): printed to the console in development (DJANGO_DEBUG), sent by
# SMTP with these settings in production. EMAIL_BACKEND overrides either.
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend" if DEBUG else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Virtual Office <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# An invitation link works once, for this many days.
INVITATION_DAYS = int(os.environ.get("INVITATION_DAYS", "7"))

# Exports: built in a thread of the process that queued them; every process's hub sweeps queued ones
# nobody took and fails running ones whose build stopped telling its progress for this long.
EXPORT_BUILD_IN_THREAD = env_bool("EXPORT_BUILD_IN_THREAD", True)
EXPORT_SWEEP_SECONDS = float(os.environ.get("EXPORT_SWEEP_SECONDS", "30"))
EXPORT_STALE_SECONDS = float(os.environ.get("EXPORT_STALE_SECONDS", "120"))

# Webhooks: outgoing POSTs to the URLs company admins registered, never to private, loopback,
# link-local or reserved addresses unless this is on (tests, a local receiver in development).
WEBHOOKS_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOKS_ALLOW_PRIVATE_ADDRESSES", False)
WEBHOOK_TIMEOUT_SECONDS = float(os.environ.get("WEBHOOK_TIMEOUT_SECONDS", "5"))
WEBHOOK_SEND_IN_THREAD = env_bool("WEBHOOK_SEND_IN_THREAD", True)
WEBHOOK_SWEEP_SECONDS = float(os.environ.get("WEBHOOK_SWEEP_SECONDS", "5"))

# Security: production values come from the environment; `check --deploy` passes with them.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG and env_bool("DJANGO_HTTPS", False))
SESSION_COOKIE_SECURE = env_bool("DJANGO_HTTPS", False)
CSRF_COOKIE_SECURE = env_bool("DJANGO_HTTPS", False)
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_HSTS_SECONDS", "0"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_PROXY") else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Channels: Redis when REDIS_URL is set, otherwise the in-memory layer (one process only).
REDIS_URL = os.environ.get("REDIS_URL", "")
# Connections per process to Redis, for the channel layer and for shared state (rate counters,
# watchers, worker heartbeats) each; callers past the bound wait this many seconds, then fail.
REDIS_POOL_SIZE = int(os.environ.get("REDIS_POOL_SIZE", "20"))
# Threads for ORM work beside each process' event loop (virtual_office/realtime/config.py).
WORKER_POOL_THREADS = int(os.environ.get("WORKER_POOL_THREADS", "3"))
WS_OPEN_CONCURRENCY = int(os.environ.get("WS_OPEN_CONCURRENCY", "64"))
REDIS_POOL_TIMEOUT = float(os.environ.get("REDIS_POOL_TIMEOUT", "5"))
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "virtual_office.layers.BoundedRedisChannelLayer",
            "CONFIG": {
                # One bounded pool per process (the hub is the layer's only user); a caller past
                # the bound waits up to pool_timeout seconds, then gets a ConnectionError.
                "pool_size": REDIS_POOL_SIZE,
                "pool_timeout": REDIS_POOL_TIMEOUT,
                # redis-py 8's 5 s read timeout equals the layer's blocking receive timeout and
                # would drop idle connections (channels_redis#422).
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "socket_connect_timeout": 2,
                        "socket_keepalive": True,
                    }
                ],
                "prefix": os.environ.get("CHANNEL_PREFIX", "vo"),
                # Each server process holds one channel (its fan-out hub), so a channel's queue
                # is per process: room for bursts, short expiry so a dead process' queue drains.
                "capacity": 5000,
                "expiry": 30,
                "group_expiry": 86400,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 5000}}}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "virtual_office.api.OfficeAutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "virtual_office.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login_account": "10/min",
        "login_address": "30/min",
        "password_reset_account": "3/hour",
        "password_reset_address": "10/hour",
    },
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Virtual Office API",
    "DESCRIPTION": "Spaces, presence, messaging and calling for a self-hosted virtual office.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # /api/docs/ (Swagger UI) and /api/redoc/ load their scripts from our static files, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a "kind" / "status" / "state" choice set: name each enum after its model so
    # the schema is stable and `check --deploy` stays free of drf_spectacular.W001 warnings.
    "ENUM_NAME_OVERRIDES": {
        "SpaceKindEnum": "spaces.models.Space.Kind",
        "SpaceStatusEnum": "spaces.models.Space.Status",
        "PresenceStatusEnum": "presence.models.Presence.Status",
        "EffectiveStatusEnum": "presence.api.serializers.EFFECTIVE_STATUSES",
        "ConversationKindEnum": "messaging.models.Conversation.Kind",
        "MessageKindEnum": "messaging.models.Message.Kind",
        "CallKindEnum": "calling.models.Call.Kind",
        "CallStateEnum": "calling.models.Call.State",
        "TeleportStateEnum": "calling.models.Teleport.State",
    },
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}

# Product limits (documented in the README).
MESSAGE_MAX_LENGTH = 10_000
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024))
ATTACHMENT_MAX_COUNT = 5
ATTACHMENT_ALLOWED_TYPES = [
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain",
    "text/csv", "application/zip", "application/json",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
WS_MAX_FRAME_BYTES = 64 * 1024
WS_RATE_LIMIT = int(os.environ.get("WS_RATE_LIMIT", "120"))  # socket actions per user per 10 s
# Frames that may wait for one socket that does not read; past it the socket is closed with 4008
# (the client reconnects and resumes). Frames are shared between sockets: a waiting frame costs a
# pointer, not a copy.
WS_SEND_QUEUE_MAX = int(os.environ.get("WS_SEND_QUEUE_MAX", "1000"))
# How long (seconds) a server process' busy thread keeps Python's interpreter lock before another
# thread that waits for it gets it (sys.setswitchinterval; Python's own default is 0.005). The event
# loop that writes every frame keeps it busy, and each database answer a worker thread waits for
# (message.send, notifications) then waits this long again for the lock: at 5 ms a message.send of
# ten queries spent most of its time waiting (bench/README.md). 0 leaves Python's default.
GIL_SWITCH_INTERVAL = float(os.environ.get("GIL_SWITCH_INTERVAL", "0.001"))
# Each worker's heartbeat in Redis; a worker whose heartbeat is gone for this long is dead and its
# users are shown offline (unless they reconnected elsewhere).
WORKER_HEARTBEAT_SECONDS = float(os.environ.get("WORKER_HEARTBEAT_SECONDS", "5"))
WORKER_DEAD_AFTER_SECONDS = float(os.environ.get("WORKER_DEAD_AFTER_SECONDS", "15"))
# Presence frames to a company go out at most once per this many seconds per socket, each
# carrying every change since the last one (a morning login wave is a few frames, not thousands).
PRESENCE_COALESCE_SECONDS = float(os.environ.get("PRESENCE_COALESCE_SECONDS", "0.5"))
PRESENCE_OFFLINE_GRACE_SECONDS = float(os.environ.get("PRESENCE_OFFLINE_GRACE_SECONDS", "3"))
# Away (reason `idle`) after this long without an action from any of the person's tabs.
PRESENCE_IDLE_SECONDS = float(os.environ.get("PRESENCE_IDLE_SECONDS", "600"))
# How often each process re-evaluates the automatic status of its people (idle, quiet hours, a
# manual status reaching its `status_until`) and announces what changed.
PRESENCE_REFRESH_SECONDS = float(os.environ.get("PRESENCE_REFRESH_SECONDS", "5"))
CALL_RING_SECONDS = float(os.environ.get("CALL_RING_SECONDS", "30"))
TELEPORT_EXPIRY_SECONDS = float(os.environ.get("TELEPORT_EXPIRY_SECONDS", "60"))
# A knock on a space nobody answers expires after this many seconds (`knock.expired` to the knocker).
KNOCK_SECONDS = float(os.environ.get("KNOCK_SECONDS", "60"))
# STUN/TURN servers for calls (RTCPeerConnection's iceServers). Empty: calls connect only where the
# two browsers reach each other directly (one network).
WEBRTC_ICE_SERVERS = env_ice_servers("WEBRTC_ICE_SERVERS")
# Talking in a space: a WebRTC mesh between the browsers holds at most this many people (each sends
# its media to every other); past it `av_full`, unless LiveKit (an SFU) carries the media: set all
# three LIVEKIT_* to use it (README "Talking in a space").
SPACE_AV_MESH_MAX = int(os.environ.get("SPACE_AV_MESH_MAX", "6"))
LIVEKIT_URL = os.environ.get("LIVEKIT_URL", "")
LIVEKIT_API_KEY = os.environ.get("LIVEKIT_API_KEY", "")
LIVEKIT_API_SECRET = os.environ.get("LIVEKIT_API_SECRET", "")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "django.request": {"level": "ERROR"},
    },
}
