"""The documented configuration keys of Flask extensions under Hermetic's prefixes.

Read by ``hermetic check`` (``checks._check_settings``) through
:mod:`hermetic.security.coexistence`.
"""

from __future__ import annotations

#: Documented configuration keys of Flask extensions that start with a
#: prefix Hermetic declares (``LOGIN_``, ``REMEMBER_``, ``JWT_``,
#: ``RATELIMIT_``, ``CORS_``): ``hermetic check`` does not report them as
#: unknown. Keys Hermetic declares too are read by both.
EXTENSION_KEYS: dict[str, frozenset[str]] = {
    "Flask-Login": frozenset(
        {
            "LOGIN_DISABLED",
            "REMEMBER_COOKIE_NAME",
            "REMEMBER_COOKIE_DURATION",
            "REMEMBER_COOKIE_DOMAIN",
            "REMEMBER_COOKIE_PATH",
            "REMEMBER_COOKIE_SECURE",
            "REMEMBER_COOKIE_HTTPONLY",
            "REMEMBER_COOKIE_SAMESITE",
            "REMEMBER_COOKIE_REFRESH_EACH_REQUEST",
        }
    ),
    "Flask-JWT-Extended": frozenset(
        {
            "JWT_ACCESS_COOKIE_NAME",
            "JWT_ACCESS_COOKIE_PATH",
            "JWT_ACCESS_CSRF_COOKIE_NAME",
            "JWT_ACCESS_CSRF_COOKIE_PATH",
            "JWT_ACCESS_CSRF_FIELD_NAME",
            "JWT_ACCESS_CSRF_HEADER_NAME",
            "JWT_ACCESS_TOKEN_EXPIRES",
            "JWT_ALGORITHM",
            "JWT_COOKIE_CSRF_PROTECT",
            "JWT_COOKIE_DOMAIN",
            "JWT_COOKIE_SAMESITE",
            "JWT_COOKIE_SECURE",
            "JWT_CSRF_CHECK_FORM",
            "JWT_CSRF_IN_COOKIES",
            "JWT_CSRF_METHODS",
            "JWT_DECODE_ALGORITHMS",
            "JWT_DECODE_AUDIENCE",
            "JWT_DECODE_ISSUER",
            "JWT_DECODE_LEEWAY",
            "JWT_ENCODE_AUDIENCE",
            "JWT_ENCODE_ISSUER",
            "JWT_ENCODE_NBF",
            "JWT_ERROR_MESSAGE_KEY",
            "JWT_HEADER_NAME",
            "JWT_HEADER_TYPE",
            "JWT_IDENTITY_CLAIM",
            "JWT_JSON_KEY",
            "JWT_PRIVATE_KEY",
            "JWT_PUBLIC_KEY",
            "JWT_QUERY_STRING_NAME",
            "JWT_QUERY_STRING_VALUE_PREFIX",
            "JWT_REFRESH_COOKIE_NAME",
            "JWT_REFRESH_COOKIE_PATH",
            "JWT_REFRESH_CSRF_COOKIE_NAME",
            "JWT_REFRESH_CSRF_COOKIE_PATH",
            "JWT_REFRESH_CSRF_FIELD_NAME",
            "JWT_REFRESH_CSRF_HEADER_NAME",
            "JWT_REFRESH_JSON_KEY",
            "JWT_REFRESH_TOKEN_EXPIRES",
            "JWT_SECRET_KEY",
            "JWT_SESSION_COOKIE",
            "JWT_TOKEN_LOCATION",
            "JWT_VERIFY_SUB",
        }
    ),
    "Flask-Limiter": frozenset(
        {
            "RATELIMIT_APPLICATION",
            "RATELIMIT_APPLICATION_COST",
            "RATELIMIT_DEFAULT",
            "RATELIMIT_DEFAULTS_COST",
            "RATELIMIT_DEFAULTS_DEDUCT_WHEN",
            "RATELIMIT_DEFAULTS_EXEMPT_WHEN",
            "RATELIMIT_DEFAULTS_PER_METHOD",
            "RATELIMIT_ENABLED",
            "RATELIMIT_FAIL_ON_FIRST_BREACH",
            "RATELIMIT_HEADERS_ENABLED",
            "RATELIMIT_HEADER_LIMIT",
            "RATELIMIT_HEADER_REMAINING",
            "RATELIMIT_HEADER_RESET",
            "RATELIMIT_HEADER_RETRY_AFTER",
            "RATELIMIT_HEADER_RETRY_AFTER_VALUE",
            "RATELIMIT_IN_MEMORY_FALLBACK",
            "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED",
            "RATELIMIT_KEY_PREFIX",
            "RATELIMIT_META",
            "RATELIMIT_ON_BREACH_CALLBACK",
            "RATELIMIT_ON_META_BREACH_CALLBACK",
            "RATELIMIT_REQUEST_IDENTIFIER",
            "RATELIMIT_STORAGE_OPTIONS",
            "RATELIMIT_STORAGE_URI",
            "RATELIMIT_STRATEGY",
            "RATELIMIT_SWALLOW_ERRORS",
        }
    ),
    "Flask-CORS": frozenset(
        {
            "CORS_ALLOW_HEADERS",
            "CORS_ALLOW_PRIVATE_NETWORK",
            "CORS_ALWAYS_SEND",
            "CORS_AUTOMATIC_OPTIONS",
            "CORS_EXPOSE_HEADERS",
            "CORS_INTERCEPT_EXCEPTIONS",
            "CORS_MAX_AGE",
            "CORS_METHODS",
            "CORS_ORIGINS",
            "CORS_RESOURCES",
            "CORS_SEND_WILDCARD",
            "CORS_SUPPORTS_CREDENTIALS",
            "CORS_VARY_HEADER",
        }
    ),
}

#: Every key of :data:`EXTENSION_KEYS`.
ALL_EXTENSION_KEYS = frozenset().union(*EXTENSION_KEYS.values())
