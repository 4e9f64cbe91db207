"""One settings module; everything that differs between machines comes from the environment."""

import contextlib
import json
import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent
VAR_DIR = Path(os.environ.get("XIANFENG_VAR", PROJECT_DIR / "var"))


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "dev-only-insecure-key-change-me-in-production-0123456789")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "xianfeng.core",
    "xianfeng.orgs",
    "xianfeng.jobs",
    "xianfeng.notify",
    "xianfeng.ledger",
    "xianfeng.pledges",
    "xianfeng.demands",
    "xianfeng.points",
    "xianfeng.events",
    "xianfeng.posts",
    "xianfeng.grids",
    "xianfeng.care",
    "xianfeng.campaigns",
    "xianfeng.inspections",
    "xianfeng.cockpit",
    "xianfeng.portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "xianfeng.core.middleware.UploadSizeMiddleware",  # before anything reads the body
    "xianfeng.core.middleware.RejectNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "xianfeng.urls"
WSGI_APPLICATION = "xianfeng.wsgi.application"
ASGI_APPLICATION = "xianfeng.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "xianfeng.core.context.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'xianfeng.sqlite3'}"), conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers run beside the one writer; IMMEDIATE makes a write transaction take the lock up front
    # instead of failing half-way with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
        " PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000;",
        "transaction_mode": "IMMEDIATE",
    }
    # Kept open per server thread: a fresh connection cost 3–16 ms a request (the init PRAGMAs parse the ~500-entry
    # schema; closing the last one checkpoints the WAL), more than most whole pages (bench_pledges_board).
    DATABASES["default"]["CONN_MAX_AGE"] = int(env_str("SQLITE_CONN_MAX_AGE", "60"))
    DATABASES["default"].setdefault("TEST", {})["NAME"] = env_str("XIANFENG_TEST_SQLITE", "") or None


def ensure_dirs(*paths: Path) -> None:
    """Create the folders the site writes to (var/ is not in git), so any command works from a fresh checkout.
    A folder that cannot be made is left for the first write to report."""
    for folder in paths:
        with contextlib.suppress(OSError):
            folder.mkdir(parents=True, exist_ok=True)


if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3" and DATABASES["default"]["NAME"] not in ("", ":memory:"):
    ensure_dirs(Path(DATABASES["default"]["NAME"]).parent)

# Optional shared cache for several app servers (e.g. redis://127.0.0.1:6379/0); without it each process keeps its
# own in-memory cache.
if env_str("REDIS_URL"):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": env_str("REDIS_URL"),
                          "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "xianfeng")}}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (core/throttle.py): this many failures lock a username for LOGIN_LOCKOUT_SECONDS, doubled by each
# further failure up to LOGIN_LOCKOUT_MAX_SECONDS; an address is counted only for usernames that do not exist.
LOGIN_MAX_FAILURES = int(env_str("LOGIN_MAX_FAILURES", "5"))
LOGIN_LOCKOUT_SECONDS = int(env_str("LOGIN_LOCKOUT_SECONDS", "900"))
LOGIN_LOCKOUT_MAX_SECONDS = int(env_str("LOGIN_LOCKOUT_MAX_SECONDS", "86400"))
LOGIN_ADDRESS_MAX_FAILURES = int(env_str("LOGIN_ADDRESS_MAX_FAILURES", str(LOGIN_MAX_FAILURES * 4)))
# Reverse proxies in front of the app servers (nginx of docs/DEPLOYMENT.md: 1); the client's address is read from
# X-Forwarded-For that many entries from the right, so what a client writes into the header itself is ignored.
TRUSTED_PROXY_COUNT = int(env_str("TRUSTED_PROXY_COUNT", "0"))

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = PROJECT_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_URL = "/media/"
MEDIA_ROOT = VAR_DIR / "media"
ensure_dirs(VAR_DIR, MEDIA_ROOT)
# Uploads anyone may fetch at MEDIA_URL (core/media.py; nginx serves the same folders); every other upload is reached
# only through its module's view, which checks the viewer first.
MEDIA_PUBLIC_PREFIXES = ["campaigns/bulletins/", "campaigns/awards/"]
# Files answered at the site's root (/favicon.ico) by whitenoise.
WHITENOISE_ROOT = BASE_DIR / "root_files"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
# No script reads the CSRF cookie: pages carry the token (htmx's hx-headers on <body>, forms, json_script).
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
if env_bool("SECURE_COOKIES", False):
    # Behind the TLS-terminating proxy (docs/DEPLOYMENT.md), which overwrites X-Forwarded-Proto on every request.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(env_str("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
    # A plain-HTTP request that reaches the app is sent to HTTPS (the proxy normally does this first); preloading
    # HSTS into browsers is the deployment's decision (docs/DEPLOYMENT.md).
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# Grid maps' tile server, e.g. https://{s}.tile.example.cn/{z}/{x}/{y}.png; empty: the maps draw without tiles.
GRIDS_MAP_TILE_URL = env_str("GRIDS_MAP_TILE_URL", "")


def csp_source(url: str) -> list[str]:
    """The CSP source for a URL template's host: scheme://host, a {placeholder} label becoming *."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return []
    host = ".".join("*" if "{" in label else label for label in parts.netloc.split("."))
    return [f"{parts.scheme}://{host}"]


# Content-Security-Policy (django-csp): scripts only from this site — no inline script, no event-handler attributes,
# no eval. Inline styles stay allowed: templates use style attributes and ECharts' tooltips carry them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *csp_source(GRIDS_MAP_TILE_URL)],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

REST_FRAMEWORK = {
    # Token first: DRF answers 401 with WWW-Authenticate only when the first class names a scheme; with the session
    # first a bad or missing token got 403. Browsers' session sign-in works the same either way.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "xianfeng.core.api_defaults.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["xianfeng.core.api_defaults.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "xianfeng.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "xianfeng.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"token": "10/min"},
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,  # DRF's rate limits read the client address like core/throttle.client_ip
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Xianfeng API",
    "DESCRIPTION": "先锋 — organisations, members and the campaign modules. Every list is limited to the caller's scope.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # stable enum names however many apps add a `status` or `kind` of their own
    "ENUM_NAME_OVERRIDES": {
        "OrgKindEnum": "xianfeng.orgs.models.OrgKind",
        "MemberStatusEnum": "xianfeng.orgs.models.Member.Status",
        "MemberCategoryEnum": "xianfeng.orgs.models.Member.Category",
        "ContactPointKindEnum": "xianfeng.orgs.models.ContactPoint.Kind",
        "PledgeItemKindEnum": "xianfeng.pledges.models.PledgeItem.Kind",
        "MeetingKindEnum": "xianfeng.campaigns.models.Meeting.Kind",
        "VentureKindEnum": "xianfeng.campaigns.models.Venture.Kind",
        "InspectionMethodEnum": "xianfeng.inspections.models.Method",
        "ServiceRatingEnum": "xianfeng.demands.models.ServiceRecord.Rating",
        "SatisfactionEnum": "xianfeng.pledges.models.Rating.Value",
        "DemandStatusEnum": "xianfeng.demands.models.Demand.Status",
        "CaseOutcomeEnum": "xianfeng.grids.models.Case.Outcome",
        "DemandSourceEnum": "xianfeng.demands.models.Demand.Source",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}

# Personal data (身份证号, phone) is shown unmasked only to these role kinds, and each such view is audited.
UNMASK_ROLE_KINDS = ("county_admin", "org_admin", "secretary")

# The background worker (`xianfeng worker`): the database is the queue.
JOBS_POLL_SECONDS = float(env_str("JOBS_POLL_SECONDS", "0.25"))  # idle sleep; bounds the lag of a due job
JOBS_STALE_AFTER_SECONDS = float(env_str("JOBS_STALE_AFTER_SECONDS", "60"))  # no heartbeat this long: handed back
JOBS_MAX_ATTEMPTS = int(env_str("JOBS_MAX_ATTEMPTS", "5"))  # then the job is parked with its error
JOBS_BACKOFF_SECONDS = float(env_str("JOBS_BACKOFF_SECONDS", "30"))  # first retry; doubles each time
JOBS_BACKOFF_MAX_SECONDS = float(env_str("JOBS_BACKOFF_MAX_SECONDS", str(6 * 3600)))
JOBS_KEEP_DAYS = int(env_str("JOBS_KEEP_DAYS", "30"))  # finished one-off jobs are pruned after this

# Notifications: channels, the SMS gateway, webhooks, e-mail.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")  # absolute links in e-mail, SMS and webhooks
NOTIFY_DEFAULT_CHANNELS = env_list("NOTIFY_DEFAULT_CHANNELS", "in_app,email")
NOTIFY_MAX_ATTEMPTS = int(env_str("NOTIFY_MAX_ATTEMPTS", "6"))
NOTIFY_RETRY_SECONDS = float(env_str("NOTIFY_RETRY_SECONDS", "60"))  # first retry of a failed delivery; doubles
NOTIFY_HTTP_TIMEOUT = float(env_str("NOTIFY_HTTP_TIMEOUT", "10"))
NOTIFY_SMS_GATEWAY = env_str("NOTIFY_SMS_GATEWAY", "xianfeng.notify.gateways.RecordingSmsGateway")
NOTIFY_SMS_URL = env_str("NOTIFY_SMS_URL", "")
NOTIFY_SMS_TEMPLATE = env_str("NOTIFY_SMS_TEMPLATE", '{"phone": "$phone", "text": "$text", "ref": "$reference"}')
NOTIFY_WEBHOOK_ALLOW_PRIVATE = env_bool("NOTIFY_WEBHOOK_ALLOW_PRIVATE", False)
# --- notify: mainland SMS/voice providers, receipts (docs/DEPLOYMENT.md "Notification channels") -------------------
# NOTIFY_SMS_GATEWAY = xianfeng.notify.providers.AliyunSmsGateway or .TencentSmsGateway to send through a provider;
# NOTIFY_VOICE_GATEWAY = xianfeng.notify.providers.AliyunVoiceGateway or .TencentVoiceGateway for voice calls.
# Templates: JSON {"<kind>" or "*": {"template": "<code>", "params": ["subject", "link", ...]}}.
NOTIFY_SMS_SIGN_NAME = env_str("NOTIFY_SMS_SIGN_NAME", "")
NOTIFY_SMS_TEMPLATES = json.loads(env_str("NOTIFY_SMS_TEMPLATES", "{}"))
NOTIFY_SMS_PARAM_MAX = int(env_str("NOTIFY_SMS_PARAM_MAX", "35"))  # the providers' limit on one variable's length
NOTIFY_VOICE_GATEWAY = env_str("NOTIFY_VOICE_GATEWAY", "")
NOTIFY_VOICE_TEMPLATES = json.loads(env_str("NOTIFY_VOICE_TEMPLATES", "{}"))
NOTIFY_VOICE_SHOW_NUMBER = env_str("NOTIFY_VOICE_SHOW_NUMBER", "")  # Alibaba: the registered calling number
NOTIFY_VOICE_PLAY_TIMES = int(env_str("NOTIFY_VOICE_PLAY_TIMES", "2"))
NOTIFY_VOICE_ACK_DIGIT = env_str("NOTIFY_VOICE_ACK_DIGIT", "1")  # the key that acknowledges an alert on the call
NOTIFY_ALIYUN_ACCESS_KEY_ID = env_str("NOTIFY_ALIYUN_ACCESS_KEY_ID", "")
NOTIFY_ALIYUN_ACCESS_KEY_SECRET = env_str("NOTIFY_ALIYUN_ACCESS_KEY_SECRET", "")
NOTIFY_ALIYUN_REGION = env_str("NOTIFY_ALIYUN_REGION", "cn-hangzhou")
NOTIFY_ALIYUN_SMS_ENDPOINT = env_str("NOTIFY_ALIYUN_SMS_ENDPOINT", "https://dysmsapi.aliyuncs.com")
NOTIFY_ALIYUN_VOICE_ENDPOINT = env_str("NOTIFY_ALIYUN_VOICE_ENDPOINT", "https://dyvmsapi.aliyuncs.com")
NOTIFY_TENCENT_SECRET_ID = env_str("NOTIFY_TENCENT_SECRET_ID", "")
NOTIFY_TENCENT_SECRET_KEY = env_str("NOTIFY_TENCENT_SECRET_KEY", "")
NOTIFY_TENCENT_REGION = env_str("NOTIFY_TENCENT_REGION", "ap-guangzhou")
NOTIFY_TENCENT_SMS_APP_ID = env_str("NOTIFY_TENCENT_SMS_APP_ID", "")
NOTIFY_TENCENT_VOICE_APP_ID = env_str("NOTIFY_TENCENT_VOICE_APP_ID", "")
NOTIFY_TENCENT_SMS_ENDPOINT = env_str("NOTIFY_TENCENT_SMS_ENDPOINT", "https://sms.tencentcloudapi.com")
NOTIFY_TENCENT_VMS_ENDPOINT = env_str("NOTIFY_TENCENT_VMS_ENDPOINT", "https://vms.tencentcloudapi.com")
NOTIFY_RECEIPT_TOKEN = env_str("NOTIFY_RECEIPT_TOKEN", "")  # in the receipt address registered with the provider
NOTIFY_URGENT_KINDS = env_list("NOTIFY_URGENT_KINDS", "care.alert")  # never held by quiet hours or the digest
NOTIFY_DIGEST_AT = env_str("NOTIFY_DIGEST_AT", "08:00")  # the daily digest's time
# --- end notify providers -------------------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = int(env_str("EMAIL_PORT", "25"))
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "xianfeng@localhost")
