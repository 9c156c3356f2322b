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
def opens_modal(custom_id: str) -> bool:
    return midjourney.opens_modal(custom_id)


@register.filter
def shortened_prompts(text: str) -> list[str]:
    return midjourney.shortened_prompts(text)


@register.filter
def job_error(job) -> str:
    return message_display(job.error_code, job.error_message)


@register.filter
def job_progress(progress: str) -> str:
    # Our own progress words are catalogue entries; a provider's ("45%") is shown as sent.
    from jobs.services.midjourney import MJ_QUEUE_POSITION

    return stored_text(progress, [MJ_QUEUE_POSITION])
