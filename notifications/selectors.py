from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.contrib.auth import get_user_model
from django.db.models import Count, OuterRef, Q, Subquery

from moderation.models import Suspension
from notifications.models import Notification


def notification_list(*, user, limit: int = 50) -> list[Notification]:
    return list(Notification.objects.filter(user=user).order_by("-created_at", "-id")[:limit])


@dataclass
class NavState:
    """What the top bar tells a signed-in person on every page, read in one query and
    only when a template asks (partials that do not extend the base pay nothing)."""

    user_id: int

    @cached_property
    def _row(self) -> dict:
        active = Suspension.objects.filter(user=OuterRef("pk"), lifted_at__isnull=True)
        return (
            get_user_model()
            .objects.filter(pk=self.user_id)
            .annotate(
                unread=Count("notifications", filter=Q(notifications__read_at__isnull=True)),
                suspension_reason=Subquery(active.values("reason")[:1]),
            )
            .values("unread", "suspension_reason")
            .first()
        ) or {"unread": 0, "suspension_reason": None}

    @property
    def unread(self) -> int:
        return self._row["unread"]

    @property
    def suspended(self) -> bool:
        return self._row["suspension_reason"] is not None

    @property
    def suspension_reason(self) -> str:
        return self._row["suspension_reason"] or ""
