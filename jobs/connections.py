"""Provider connections: where requests for each model go, and with which key."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings

from jobs.registry import MODELS, Family, Lifecycle, ModelSpec


@dataclass(frozen=True)
class Connection:
    name: str
    family: Family
    base_url: str = ""
    api_key: str = field(default="", repr=False)
    models: frozenset[str] = frozenset()


def configured_connections() -> list[Connection]:
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
                models=frozenset(served),
            )
        )
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
