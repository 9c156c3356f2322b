from __future__ import annotations

from django.utils import timezone

from notifications.models import Notification


def notification_send(*, user_id: int, kind: str, message: str, url: str = "") -> Notification:
    return Notification.objects.create(user_id=user_id, kind=kind, message=message, url=url)


def notifications_mark_read(*, user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
