"""Endpoints' signing secrets, sealed at rest.

The HMAC needs the secret back, so it cannot be hashed like an access token; it is kept
encrypted (Fernet: AES-128-CBC with an HMAC-SHA256 tag) under ATELIER_WEBHOOK_KEYS, or,
when none is set, a key derived from SECRET_KEY. A database dump alone then signs nothing.
Opening tries every key (MultiFernet): the configured ones, then those derived from
SECRET_KEY and SECRET_KEY_FALLBACKS, so moving to a key of its own, or rotating
SECRET_KEY with the old one as a fallback, loses no endpoint; ``secret_reseal`` moves a
sealed secret under the first key.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["InvalidToken", "secret_open", "secret_reseal", "secret_seal"]


def _derived(secret_key: str) -> bytes:
    raw = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"atelier webhook secrets"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def _keys() -> MultiFernet:
    secret_keys = [settings.SECRET_KEY, *(str(k) for k in settings.SECRET_KEY_FALLBACKS)]
    configured = [str(k) for k in settings.ATELIER_WEBHOOK_KEYS]
    keys = [*configured, *(_derived(k).decode() for k in secret_keys)]
    return MultiFernet([Fernet(k) for k in keys])


def secret_seal(secret: str) -> str:
    return _keys().encrypt(secret.encode()).decode("ascii")


def secret_open(sealed: str) -> str:
    """The secret; InvalidToken when no configured key opens it."""
    return _keys().decrypt(sealed.encode("ascii")).decode()


def secret_reseal(sealed: str) -> str:
    """The same secret sealed under the first key (for key rotation)."""
    return _keys().rotate(sealed.encode("ascii")).decode("ascii")
