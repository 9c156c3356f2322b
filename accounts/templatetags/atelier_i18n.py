"""Filters that show stored English text in the reader's language (accounts.i18n)."""

from django import template

from accounts.i18n import stored_text
from gallery.models import IMAGE_STR
from moderation.services import NOTIFICATION_MESSAGES

register = template.Library()


@register.filter
def notification_text(text: str) -> str:
    return stored_text(text, NOTIFICATION_MESSAGES)


@register.filter
def audit_target(text: str) -> str:
    return stored_text(text, [IMAGE_STR])
