"""Writing side of moderation: reports, staff decisions, suspensions, events, the audit log.

Every staff decision goes through here and leaves an AuditEntry, whoever calls it
(the moderation pages, an admin action, a shell).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from gallery.models import Image
from moderation.models import AuditEntry, ImageReport, ModerationEvent, Suspension
from notifications.models import Notification
from notifications.services import notification_send

logger = logging.getLogger(__name__)

# Provider error codes that mean its safety system refused the request.
PROVIDER_REFUSAL_CODES = frozenset(
    {"content_policy_violation", "moderation_blocked", "mj_banned_prompt"}
)


class ImageAction:
    APPROVE = "approve"
    HIDE = "hide"
    DELETE = "delete"
    CHOICES = (
        (APPROVE, _("Approve (keep, close reports)")),
        (HIDE, _("Hide")),
        (DELETE, _("Delete")),
    )


def audit_record(*, actor, action: str, target, reason: str = "", detail=None) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        target_type=target._meta.label_lower,
        target_id=str(target.pk),
        target_repr=str(target)[:255],
        reason=reason,
        detail=detail or {},
    )


SUSPENDED_CANNOT_REPORT = _("Your account is suspended, so you cannot report images.")


def report_create(*, reporter, image: Image, reason: str) -> ImageReport:
    if Suspension.objects.filter(user=reporter, lifted_at__isnull=True).exists():
        raise ValidationError(SUSPENDED_CANNOT_REPORT)
    with transaction.atomic():
        report = ImageReport.objects.create(image=image, reporter=reporter, reason=reason)
        audit_record(actor=reporter, action="report.create", target=image, reason=reason)
    return report


# Notifications are stored in English and translated for their reader when shown
# (accounts.templatetags.atelier_i18n matches them against these templates).
_REPORT_OUTCOMES: dict[str, str] = {
    ImageReport.Status.APPROVED: gettext_noop("staff reviewed the image and kept it"),
    ImageReport.Status.HIDDEN: gettext_noop("staff hid the image"),
    ImageReport.Status.DELETED: gettext_noop("staff deleted the image"),
}
REPORT_DECIDED = gettext_noop("Your report on “%(image)s” was decided: %(outcome)s.")
OWNER_MESSAGES: dict[str, str] = {
    Notification.Kind.IMAGE_RESTORED: gettext_noop(
        "Your image “%(image)s” is visible again. Reason: %(reason)s"
    ),
    Notification.Kind.IMAGE_HIDDEN: gettext_noop(
        "Your image “%(image)s” was hidden by moderation: nobody else sees it now. "
        "Reason: %(reason)s"
    ),
    Notification.Kind.IMAGE_DELETED: gettext_noop(
        "Your image “%(image)s” was deleted by moderation. Reason: %(reason)s"
    ),
}
IMAGES_HIDDEN = gettext_noop("Moderation hid %(count)s of your images. Reason: %(reason)s")
NOTIFICATION_MESSAGES = [REPORT_DECIDED, *OWNER_MESSAGES.values(), IMAGES_HIDDEN]


def _page(image: Image) -> str:
    return reverse("gallery:detail", args=[image.id])


def _label(image: Image) -> str:
    text = image.label or f"image {image.id}"
    return text if len(text) <= 60 else text[:59] + "…"


def _resolve_reports(*, image: Image, actor, status: str, reason: str) -> int:
    """Closes the open reports on an image and tells each reporter the outcome (not the
    staff's reason, which may be about the owner)."""
    open_reports = ImageReport.objects.filter(image=image, status=ImageReport.Status.OPEN)
    reporters = set(open_reports.values_list("reporter_id", flat=True))
    closed = open_reports.update(
        status=status, resolved_by=actor, resolution_reason=reason, resolved_at=timezone.now()
    )
    for reporter_id in sorted(reporters):
        notification_send(
            user_id=reporter_id,
            kind=Notification.Kind.REPORT_DECIDED,
            message=REPORT_DECIDED % {"image": _label(image), "outcome": _REPORT_OUTCOMES[status]},
            url="" if status == ImageReport.Status.DELETED else _page(image),
        )
    return closed


def _tell_owner(image: Image, kind: str, reason: str) -> None:
    notification_send(
        user_id=image.owner_id,
        kind=kind,
        message=OWNER_MESSAGES[kind] % {"image": _label(image), "reason": reason},
        url=_page(image) if kind == Notification.Kind.IMAGE_RESTORED else "",
    )


def image_approve(*, actor, image: Image, reason: str) -> None:
    with transaction.atomic():
        restored = Image.objects.filter(id=image.id, is_hidden=True).update(
            is_hidden=False, hidden_reason=""
        )
        if restored:
            _tell_owner(image, Notification.Kind.IMAGE_RESTORED, reason)
        closed = _resolve_reports(
            image=image, actor=actor, status=ImageReport.Status.APPROVED, reason=reason
        )
        audit_record(
            actor=actor,
            action="image.approve",
            target=image,
            reason=reason,
            detail={"reports": closed},
        )


def image_hide(*, actor, image: Image, reason: str) -> None:
    with transaction.atomic():
        Image.objects.filter(id=image.id).update(is_hidden=True, hidden_reason=reason)
        _tell_owner(image, Notification.Kind.IMAGE_HIDDEN, reason)
        closed = _resolve_reports(
            image=image, actor=actor, status=ImageReport.Status.HIDDEN, reason=reason
        )
        audit_record(
            actor=actor,
            action="image.hide",
            target=image,
            reason=reason,
            detail={"reports": closed},
        )


def image_delete(*, actor, image: Image, reason: str) -> None:
    """Delete the row and both stored objects; the reports stay, pointing at nothing."""
    keys = (image.original_key, image.thumbnail_key)
    detail = {
        "owner": image.owner_id,
        "job": str(image.job_id),
        "original_key": image.original_key,
        "thumbnail_key": image.thumbnail_key,
        "sha256": image.sha256,
    }
    with transaction.atomic():
        closed = _resolve_reports(
            image=image, actor=actor, status=ImageReport.Status.DELETED, reason=reason
        )
        audit_record(
            actor=actor,
            action="image.delete",
            target=image,
            reason=reason,
            detail={**detail, "reports": closed},
        )
        _tell_owner(image, Notification.Kind.IMAGE_DELETED, reason)
        image.delete()
    # After the commit: a storage failure must not bring back a row whose decision is made.
    for key in keys:
        try:
            default_storage.delete(key)
        except Exception:  # noqa: BLE001 - any backend error; the audit entry keeps the key
            logger.exception("could not delete %s from storage", key)


_ACTIONS = {
    ImageAction.APPROVE: image_approve,
    ImageAction.HIDE: image_hide,
    ImageAction.DELETE: image_delete,
}


def images_moderate(*, actor, images: Iterable[Image], action: str, reason: str) -> int:
    """Apply one decision to many images (the queue's bulk actions)."""
    apply = _ACTIONS[action]
    count = 0
    for image in images:
        apply(actor=actor, image=image, reason=reason)
        count += 1
    return count


def user_images_hide(*, actor, user, reason: str) -> int:
    with transaction.atomic():
        hidden = Image.objects.filter(owner=user, is_hidden=False).update(
            is_hidden=True, hidden_reason=reason
        )
        audit_record(
            actor=actor,
            action="user.hide_images",
            target=user,
            reason=reason,
            detail={"images": hidden},
        )
        if hidden:
            notification_send(
                user_id=user.id,
                kind=Notification.Kind.IMAGE_HIDDEN,
                message=IMAGES_HIDDEN % {"count": hidden, "reason": reason},
            )
    return hidden


def user_suspend(*, actor, user, reason: str, hide_images: bool = False) -> Suspension:
    with transaction.atomic():
        suspension = Suspension.objects.filter(user=user, lifted_at__isnull=True).first()
        if suspension is None:
            suspension = Suspension.objects.create(user=user, reason=reason, created_by=actor)
        audit_record(
            actor=actor,
            action="user.suspend",
            target=user,
            reason=reason,
            detail={"hide_images": hide_images},
        )
        if hide_images:
            user_images_hide(actor=actor, user=user, reason=reason)
    return suspension


def user_unsuspend(*, actor, user, reason: str) -> int:
    with transaction.atomic():
        lifted = Suspension.objects.filter(user=user, lifted_at__isnull=True).update(
            lifted_at=timezone.now()
        )
        audit_record(actor=actor, action="user.unsuspend", target=user, reason=reason)
    return lifted


def moderation_event_record(*, job, code: str, detail: str) -> ModerationEvent:
    """A provider's content-policy refusal, kept on the job for staff to review."""
    return ModerationEvent.objects.create(
        user_id=job.owner_id,
        job=job,
        source=ModerationEvent.Source.PROVIDER,
        code=code,
        detail=detail or "",
        prompt=job.prompt,
    )


def prompt_refusal_record(*, user, source: str, code: str, detail: str, prompt: str):
    """A prompt refused before queueing (blocklist, pre-moderation)."""
    return ModerationEvent.objects.create(
        user=user, source=source, code=code, detail=detail, prompt=prompt
    )
