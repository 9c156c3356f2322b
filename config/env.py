"""Typed readers for settings that come from environment variables.

Each reader fails loudly with ImproperlyConfigured, so a typo in a deployment
shows at start-up instead of as odd behaviour later.
"""

import os

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# The placeholder .env.example ships; a deployment that copied it unchanged must not start.
EXAMPLE_SECRET_KEY = "change-me-to-a-long-random-string"


def secret_key_problem(value: str) -> str | None:
    """Why ``value`` is too weak for production, or None. Django's own check --deploy rule
    (at least 50 characters, at least 5 distinct ones), plus the example placeholder."""
    if value == EXAMPLE_SECRET_KEY or "change-me" in value:
        return "is the placeholder from .env.example"
    if value.startswith("django-insecure-"):
        return "is one of Django's insecure development keys"
    if len(value) < 50:
        return f"is too short ({len(value)} characters; use at least 50)"
    if len(set(value)) < 5:
        return "has too few distinct characters"
    return None
