"""Provider connections: where requests for each model go, and with which key.

Connections come from three places, in this order of precedence: the classic
``OPENAI_BASE_URL``/``OPENAI_API_KEY`` pair, the ``ATELIER_CONNECTIONS`` JSON list,
and ``ProviderConnection`` rows added in the admin. Keys live only in the
``Connection`` objects built here (never in a repr, a log line or a job row).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext

from jobs.addresses import allow_list_entries
from jobs.registry import MODELS, Family, Lifecycle, ModelSpec

logger = logging.getLogger(__name__)


# Why a stored key is not used; each is an error code in jobs.providers.errors.CATALOG.
KEY_UNDECRYPTABLE = "stored_key_undecryptable"
KEY_OTHER_HOST = "stored_key_other_host"
KEY_MISSING = "no_api_key"
# Families whose SDK cannot call without a key (a Midjourney proxy may take none).
_NEEDS_KEY = frozenset({Family.OPENAI_IMAGES, Family.CHAT_COMPLETIONS})


@dataclass(frozen=True)
class Connection:
    name: str
    family: Family
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    models: frozenset[str] = frozenset()
    source: str = "environment"
    # Set when the stored key cannot be used: a job on this connection fails with it
    # instead of calling the provider without a key (or with one meant for another host).
    key_problem: str = ""
    # Networks and host names its downloads may reach besides the public internet (a
    # self-hosted proxy on the LAN); empty unless an administrator lists some.
    allowed_networks: tuple[str, ...] = ()
    # Midjourney: InsightFace face swaps offered (off unless an administrator says so).
    swap_face: bool = False
    # Chat completions: replies asked for with ``stream: true``.
    stream: bool = False


# -- keys at rest --------------------------------------------------------------


class StoredKeyError(Exception):
    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def _fernet_for(secret: str) -> Fernet:
    # Derived from the secret key, so a database dump alone does not reveal provider keys.
    digest = hashlib.sha256(f"atelier.connections:{secret}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _fernet() -> MultiFernet:
    """Encrypts with DJANGO_SECRET_KEY; decrypts with it or any DJANGO_SECRET_KEY_FALLBACKS."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([_fernet_for(secret) for secret in secrets])


def api_key_encrypt(raw: str, *, base_url: str | None = None) -> str:
    """The encrypted key; with ``base_url`` it is bound to that URL and is never used
    for another (a connection whose URL changes cannot send it to the new host)."""
    if not raw:
        return ""
    payload = raw if base_url is None else json.dumps({"key": raw, "base_url": base_url})
    return _fernet().encrypt(payload.encode()).decode()


def api_key_decrypt(token: str, *, base_url: str | None = None) -> str:
    """The stored key ("" when none is stored).

    Raises ``StoredKeyError`` when it was encrypted under a secret key that is neither
    DJANGO_SECRET_KEY nor one of its fallbacks, or when it is bound to another base URL.
    """
    if not token:
        return ""
    try:
        payload = _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise StoredKeyError(KEY_UNDECRYPTABLE) from None
    if not payload.startswith("{"):
        return payload  # stored before keys were bound to their URL
    bound = json.loads(payload)
    if base_url is not None and bound["base_url"] != base_url:
        raise StoredKeyError(KEY_OTHER_HOST)
    return bound["key"]


def api_key_problem(token: str, *, base_url: str) -> str:
    """ "" when the stored key is usable (or there is none), else the reason it is not."""
    try:
        api_key_decrypt(token, base_url=base_url)
    except StoredKeyError as exc:
        return exc.code
    return ""


def api_key_reencrypt(token: str, *, base_url: str) -> str:
    """The same key encrypted under the current DJANGO_SECRET_KEY and bound to ``base_url``;
    raises ``StoredKeyError`` if it cannot be read (or belongs to another URL)."""
    return api_key_encrypt(api_key_decrypt(token, base_url=base_url), base_url=base_url)


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
    try:
        allowed = allow_list_entries(entry.get("allowed_networks") or [])
    except ValueError as exc:
        raise ImproperlyConfigured(f"Connection {name!r}: allowed_networks: {exc}") from None
    return Connection(
        name=name,
        family=family,
        base_url=base_url,
        api_key=api_key,
        models=_check_models(name, family, entry.get("models") or []),
        allowed_networks=tuple(allowed),
        swap_face=entry.get("swap_face") is True,
        stream=entry.get("stream") is True,
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
        served = settings.ATELIER_OPENAI_MODELS or every_available_model(Family.OPENAI_IMAGES)
        connections.append(
            Connection(
                name="openai",
                family=Family.OPENAI_IMAGES,
                base_url=settings.OPENAI_BASE_URL,
                api_key=settings.OPENAI_API_KEY,
                models=_check_models("openai", Family.OPENAI_IMAGES, list(served)),
                allowed_networks=tuple(settings.ATELIER_OPENAI_ALLOWED_NETWORKS),
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
        key_problem = ""
        try:
            api_key = api_key_decrypt(row.api_key_encrypted, base_url=row.base_url)
        except StoredKeyError as exc:
            api_key, key_problem = "", exc.code
            logger.error("connection %s: its stored key is not usable (%s)", row.name, exc.code)
        if not row.api_key_encrypted and Family(row.family) in _NEEDS_KEY:
            key_problem = KEY_MISSING
        connections.append(
            Connection(
                name=row.name,
                family=Family(row.family),
                base_url=row.base_url,
                api_key=api_key,
                models=models,
                source="admin",
                key_problem=key_problem,
                allowed_networks=tuple(row.allowed_networks or ()),
                swap_face=row.swap_face_enabled,
                stream=row.stream_replies,
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


def every_available_model(family: Family, *, maker: str = "openai") -> list[str]:
    """What a connection that serves "every available model" of ``maker`` offers: models
    not yet past their shutdown date (deprecated ones until then), previews left out. Read
    on each call, so a shutdown date or an administrator's edit applies without a restart."""
    return [
        name
        for name, spec in MODELS.items()
        if spec.family is family
        and spec.maker == maker
        and spec.lifecycle is not Lifecycle.PREVIEW
        and not spec.is_shut_down()
    ]


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


_MAKERS = {"openai": "OpenAI"}


def _maker_name(spec: ModelSpec) -> str:
    return _MAKERS.get(spec.maker, spec.maker) or gettext("its maker")


def unserved_message(spec: ModelSpec) -> str:
    """Why no connection takes a job for ``spec``: shut down (naming its successor), or
    simply not served here."""
    if spec.is_shut_down():
        successor = MODELS.get(spec.successor)
        values = {
            "model": spec.label,
            "maker": _maker_name(spec),
            "date": spec.shutdown_on.isoformat() if spec.shutdown_on else "",
        }
        if successor is not None:
            return gettext(
                "%(model)s was shut down at %(maker)s on %(date)s and no connection here still "
                "serves it. Use %(successor)s instead."
            ) % {**values, "successor": successor.label}
        return (
            gettext(
                "%(model)s was shut down at %(maker)s on %(date)s and no connection here still "
                "serves it."
            )
            % values
        )
    return gettext("No provider connection serves %(model)s. Pick another model.") % {
        "model": spec.label
    }


def served_note(spec: ModelSpec) -> str:
    """What the studio says beside a model: for one shut down at its maker that a
    connection still lists, which connection serves it."""
    if not spec.is_shut_down():
        return spec.lifecycle_note
    connection = connection_for_model(spec)
    if connection is None:
        return spec.lifecycle_note
    return gettext("Retired at %(maker)s, served by %(connection)s.") % {
        "maker": _maker_name(spec),
        "connection": connection.name,
    }


def offered_controls() -> dict[str, dict]:
    """The studio's controls for every offered model, with each one's served note and
    whether the connection its jobs go to allows face swaps."""
    swap_face = {name for name, c in _connections_by_model().items() if c.swap_face}
    return {
        spec.name: {
            **spec.controls(),
            "lifecycle_note": served_note(spec),
            "swap_face": spec.name in swap_face,
        }
        for spec in offered_models()
    }


def _connections_by_model() -> dict[str, Connection]:
    """What ``connection_for_model`` answers for every served model, in one read."""
    answer: dict[str, Connection] = {}
    for connection in configured_connections():
        for name in connection.models:
            spec = MODELS.get(name)
            if spec is not None and spec.family is connection.family:
                answer.setdefault(name, connection)
    return answer


def offered_in_place_of(name: str) -> str:
    """``name`` if some connection serves it, else the first offered model along its
    successors (a remix of an image made with a shut-down model), else ``name``."""
    offered = {spec.name for spec in offered_models()}
    seen = set()
    current = name
    while current and current not in seen:
        if current in offered:
            return current
        seen.add(current)
        spec = MODELS.get(current)
        current = spec.successor if spec is not None else ""
    return name
