"""Provider connections: where requests for each model go, and with which key.

Connections come from three places, in this order of precedence: the classic
``OPENAI_BASE_URL``/``OPENAI_API_KEY`` pair, the ``ATELIER_CONNECTIONS`` JSON list,
and ``ProviderConnection`` rows added in the admin. Keys live only in the
``Connection`` objects built here (never in a repr, a log line or a job row).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from jobs.registry import MODELS, Family, Lifecycle, ModelSpec

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Connection:
    name: str
    family: Family
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    models: frozenset[str] = frozenset()
    source: str = "environment"


# -- keys at rest --------------------------------------------------------------


def _fernet() -> Fernet:
    # Derived from the secret key, so a database dump alone does not reveal provider keys.
    digest = hashlib.sha256(f"atelier.connections:{settings.SECRET_KEY}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def api_key_encrypt(raw: str) -> str:
    return _fernet().encrypt(raw.encode()).decode() if raw else ""


def api_key_decrypt(token: str) -> str:
    """The key, or "" when it was encrypted under another DJANGO_SECRET_KEY."""
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""


# -- where connections come from -------------------------------------------------


def _check_models(name: str, family: Family, models) -> frozenset[str]:
    if not isinstance(models, list | tuple) or not all(isinstance(m, str) for m in models):
        raise ImproperlyConfigured(f"Connection {name!r}: 'models' must be a list of model names")
    for model in models:
        spec = MODELS.get(model)
        if spec is None:
            raise ImproperlyConfigured(f"Connection {name!r}: unknown model {model!r}")
        if spec.family is not family:
            raise ImproperlyConfigured(
                f"Connection {name!r}: {model!r} belongs to the {spec.family.value} family, "
                f"not {family.value}"
            )
    return frozenset(models)


def _family(name: str, raw) -> Family:
    try:
        return Family(raw)
    except ValueError:
        families = ", ".join(f.value for f in Family)
        raise ImproperlyConfigured(
            f"Connection {name!r}: family must be one of {families}, got {raw!r}"
        ) from None


def _from_json(entry: dict) -> Connection:
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ImproperlyConfigured("Every ATELIER_CONNECTIONS entry needs a 'name'")
    family = _family(name, entry.get("family"))
    base_url = entry.get("base_url") or ""
    if family is not Family.DEMO and not base_url:
        raise ImproperlyConfigured(f"Connection {name!r}: 'base_url' is required")
    if "api_key_env" in entry:
        api_key = os.environ.get(entry["api_key_env"], "")
        if not api_key:
            raise ImproperlyConfigured(
                f"Connection {name!r}: the variable {entry['api_key_env']} is not set"
            )
    else:
        api_key = entry.get("api_key") or ""
    return Connection(
        name=name,
        family=family,
        base_url=base_url,
        api_key=api_key,
        models=_check_models(name, family, entry.get("models") or []),
    )


def _environment_connections() -> list[Connection]:
    connections = [
        Connection(
            name="demo",
            family=Family.DEMO,
            models=frozenset(n for n, s in MODELS.items() if s.family is Family.DEMO),
        )
    ]
    if settings.OPENAI_API_KEY:
        served = settings.ATELIER_OPENAI_MODELS or [
            name
            for name, spec in MODELS.items()
            if spec.family is Family.OPENAI_IMAGES and spec.lifecycle is Lifecycle.AVAILABLE
        ]
        connections.append(
            Connection(
                name="openai",
                family=Family.OPENAI_IMAGES,
                base_url=settings.OPENAI_BASE_URL,
                api_key=settings.OPENAI_API_KEY,
                models=_check_models("openai", Family.OPENAI_IMAGES, list(served)),
            )
        )
    connections += [_from_json(entry) for entry in settings.ATELIER_CONNECTIONS]
    return connections


def _admin_connections() -> list[Connection]:
    from jobs.models import ProviderConnection

    connections = []
    for row in ProviderConnection.objects.filter(enabled=True):
        models = frozenset(
            m for m in row.model_names if m in MODELS and MODELS[m].family.value == row.family
        )
        api_key = api_key_decrypt(row.api_key_encrypted)
        if row.api_key_encrypted and not api_key:
            logger.warning("connection %s: its key cannot be decrypted; re-enter it", row.name)
        connections.append(
            Connection(
                name=row.name,
                family=Family(row.family),
                base_url=row.base_url,
                api_key=api_key,
                models=models,
                source="admin",
            )
        )
    return connections


def configured_connections() -> list[Connection]:
    connections = _environment_connections()
    names = {c.name for c in connections}
    for connection in _admin_connections():
        if connection.name in names:
            logger.warning("connection %s is defined twice; the environment wins", connection.name)
            continue
        connections.append(connection)
    return connections


def connection_for_model(spec: ModelSpec) -> Connection | None:
    for connection in configured_connections():
        if spec.name in connection.models and connection.family is spec.family:
            return connection
    return None


def connection_named(name: str) -> Connection | None:
    return next((c for c in configured_connections() if c.name == name), None)


def offered_models() -> list[ModelSpec]:
    """Models some connection serves, in registry order."""
    served = set().union(*(c.models for c in configured_connections()))
    return [spec for name, spec in MODELS.items() if name in served]
