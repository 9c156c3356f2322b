"""With DJANGO_DEBUG=0, start-up refuses the .env.example secret key and any weak one."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _check(**env):
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_DEBUG": "0",
            **env,
        },
        capture_output=True,
        text=True,
    )
    return result


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("change-me-to-a-long-random-string", "is the placeholder from .env.example"),
        ("s3cr3t-but-short", "is too short (16 characters; use at least 50)"),
        ("ab" * 40, "has too few distinct characters"),
        (
            "django-insecure-" + secrets.token_urlsafe(50),
            "is one of Django's insecure development keys",
        ),
    ],
    ids=["env-example", "short", "few-distinct", "django-insecure"],
)
def test_a_weak_secret_key_stops_start_up(key, message):
    result = _check(DJANGO_SECRET_KEY=key)
    assert result.returncode != 0
    assert f"DJANGO_SECRET_KEY {message}" in result.stderr


def test_a_weak_fallback_key_stops_start_up_too():
    result = _check(DJANGO_SECRET_KEY=secrets.token_urlsafe(50), DJANGO_SECRET_KEY_FALLBACKS="old")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY_FALLBACKS is too short" in result.stderr


def test_a_strong_key_with_a_strong_fallback_starts():
    result = _check(
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECRET_KEY_FALLBACKS=f"{secrets.token_urlsafe(50)},{secrets.token_urlsafe(50)}",
    )
    assert result.returncode == 0, result.stderr[-2000:]


def test_debug_mode_still_runs_with_the_development_key():
    assert _check(DJANGO_DEBUG="1").returncode == 0
