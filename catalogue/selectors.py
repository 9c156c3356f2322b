"""Reading the catalogue for staff: shutdowns ahead, pairings to review."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count
from django.utils import timezone

from catalogue.models import PairingReview
from jobs.connections import configured_connections
from jobs.models import GenerationJob
from jobs.registry import MODELS, ModelSpec

NOTICE_DAYS = 30


@dataclass(frozen=True)
class ShutdownNotice:
    spec: ModelSpec
    shutdown_on: dt.date
    jobs_last_30_days: int
    successor: ModelSpec | None
    # Connections that list it explicitly and so keep serving it after the shutdown.
    served_by: tuple[str, ...]

    @property
    def past(self) -> bool:
        return self.shutdown_on <= timezone.localdate()


def shutdown_notices(*, today: dt.date | None = None) -> list[ShutdownNotice]:
    """Models used in the last 30 days whose shutdown is at most 30 days away (or past)."""
    today = today or timezone.localdate()
    soon = {
        name: spec
        for name, spec in MODELS.items()
        if spec.shutdown_on is not None and spec.shutdown_on - dt.timedelta(NOTICE_DAYS) <= today
    }
    if not soon:
        return []
    since = timezone.now() - dt.timedelta(days=NOTICE_DAYS)
    counts = dict(
        GenerationJob.objects.filter(model__in=soon, created_at__gte=since)
        .values_list("model")
        .annotate(jobs=Count("id"))
        .values_list("model", "jobs")
    )
    connections = configured_connections()
    notices = []
    for name, spec in soon.items():
        if not counts.get(name):
            continue
        assert spec.shutdown_on is not None
        notices.append(
            ShutdownNotice(
                spec=spec,
                shutdown_on=spec.shutdown_on,
                jobs_last_30_days=counts[name],
                successor=MODELS.get(spec.successor),
                served_by=tuple(c.name for c in connections if name in c.models),
            )
        )
    return sorted(notices, key=lambda n: (n.shutdown_on, n.spec.name))


def pairing_reviews_open() -> list[PairingReview]:
    return list(PairingReview.objects.filter(resolved=False)[:50])
