from django import template

from accounts.i18n import stored_text
from jobs.providers import midjourney
from jobs.providers.errors import message_display

register = template.Library()


@register.filter
def described_prompts(text: str) -> list[str]:
    return midjourney.described_prompts(text)


@register.filter
def button_name(button: dict) -> str:
    return midjourney.button_name(button)


@register.filter
def job_error(job) -> str:
    return message_display(job.error_code, job.error_message)


@register.filter
def job_progress(progress: str) -> str:
    # Our own progress words are catalogue entries; a provider's ("45%") is shown as sent.
    return stored_text(progress, [])
