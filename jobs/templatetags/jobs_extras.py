from django import template

from jobs.providers import midjourney

register = template.Library()


@register.filter
def described_prompts(text: str) -> list[str]:
    return midjourney.described_prompts(text)


@register.filter
def button_name(button: dict) -> str:
    return midjourney.button_name(button)
