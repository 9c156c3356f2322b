"""Pre-moderation of prompts through the provider's ``/v1/moderations`` endpoint.

One client, the official SDK with its retries off and a short timeout: the user is
waiting for the studio form to answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import openai
from django.conf import settings

TIMEOUT_SECONDS = 10.0


class PremoderationUnavailable(Exception):
    pass


@dataclass(frozen=True)
class Verdict:
    flagged: bool
    categories: tuple[str, ...] = ()


def prompt_premoderate(*, prompt: str) -> Verdict:
    client = openai.OpenAI(
        base_url=settings.OPENAI_BASE_URL,
        api_key=settings.OPENAI_API_KEY,
        max_retries=0,
        timeout=openai.Timeout(TIMEOUT_SECONDS, connect=5.0),
    )
    try:
        response = client.moderations.create(
            model=settings.ATELIER_PREMODERATION_MODEL, input=prompt
        )
    except openai.OpenAIError as exc:
        raise PremoderationUnavailable(str(exc)[:500]) from exc
    flagged = False
    categories: set[str] = set()
    for result in response.results or []:
        if result.flagged:
            flagged = True
            raw = result.categories.model_dump() if result.categories else {}
            categories.update(name for name, hit in raw.items() if hit)
    return Verdict(flagged=flagged, categories=tuple(sorted(categories)))
