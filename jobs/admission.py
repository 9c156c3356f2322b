"""Whether a user may queue a job right now, decided before anything is queued or paid for.

Checked in order of cost: account state, suspension, rate limit and quotas (one
query), the prompt blocklist, then (when enabled) the provider's moderation endpoint.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext, pgettext

from moderation import selectors as moderation
from moderation.models import ModerationEvent
from moderation.premoderation import PremoderationUnavailable, prompt_premoderate
from moderation.services import prompt_refusal_record

PREMODERATION_RETRY_SECONDS = 60


class Reason(StrEnum):
    """Why a job was refused, for callers that answer machines (the APIs) rather than
    reading the message, which is translated."""

    ACCOUNT = "account_refused"
    # Waiting lifts these two: the per-minute window slides, the checker comes back.
    RATE_LIMITED = "rate_limited"
    MODERATION_UNAVAILABLE = "moderation_unavailable"
    # A daily image or monthly spend quota; waiting a moment does not lift it.
    QUOTA_EXHAUSTED = "quota_exhausted"
    PROMPT_REFUSED = "prompt_refused"


STATUS_FOR_REASON = {
    Reason.ACCOUNT: 403,
    Reason.RATE_LIMITED: 429,
    Reason.MODERATION_UNAVAILABLE: 503,
    Reason.QUOTA_EXHAUSTED: 429,
    Reason.PROMPT_REFUSED: 400,
}


class JobRefused(Exception):
    """A job refused for a reason the user must see; views answer with ``status_code``."""

    def __init__(self, message: str, *, reason: Reason, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason
        self.status_code = STATUS_FOR_REASON[reason]
        self.retry_after = retry_after


def admission_check(
    *,
    user,
    prompt: str,
    spec,
    images: int = 1,
    cost: Decimal = Decimal("0"),
    now: dt.datetime | None = None,
) -> None:
    """Raises JobRefused unless ``user`` may queue a job for ``images`` more images, at an
    estimated ``cost``, now."""
    now = now or timezone.now()
    if not user.is_active:
        raise JobRefused(gettext("Your account is not active."), reason=Reason.ACCOUNT)
    suspension = moderation.suspension_active(user=user)
    if suspension is not None:
        raise JobRefused(
            gettext(
                "Your account is suspended, so new jobs are refused. Reason: %(reason)s "
                "Contact an administrator if you think this is a mistake."
            )
            % {"reason": suspension.reason},
            reason=Reason.ACCOUNT,
        )
    _check_limits(user=user, now=now, images=images, cost=cost)
    _check_prompt(user=user, prompt=prompt)


def admission_limits_locked(*, user, images: int = 1, cost: Decimal = Decimal("0")) -> None:
    """The rate limit and quotas again, with the user's row locked until the caller's
    transaction (the one inserting the job and its reservation) ends."""
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    _check_limits(user=user, now=timezone.now(), images=images, cost=cost)


def _over(spent: Decimal, cost: Decimal, limit) -> bool:
    """Spend (including what unfinished jobs reserve) already at the limit, or this job's
    estimate would take it past."""
    return spent >= limit or spent + cost > limit


def _check_limits(*, user, now: dt.datetime, images: int, cost: Decimal) -> None:
    usage = moderation.usage_get(user=user, now=now)
    limits = usage.limits
    if usage.jobs_last_minute >= limits.jobs_per_minute:
        # No job in the window happens only with a limit of 0: then the window starts now.
        oldest = usage.oldest_recent_job_at or now
        wait = moderation.seconds_until(oldest + moderation.RATE_WINDOW, now=now)
        raise JobRefused(
            gettext("Too many jobs: at most %(limit)s per minute. The limit resets in %(wait)s.")
            % {"limit": limits.jobs_per_minute, "wait": _duration(wait)},
            reason=Reason.RATE_LIMITED,
            retry_after=wait,
        )
    if usage.images_today + images > limits.daily_images:
        _refuse_images(
            gettext("Your daily image quota"), usage, limits.daily_images, images, now=now
        )
    if _over(usage.spend_this_month, cost, limits.monthly_spend_usd):
        _refuse_spend(
            gettext("Your monthly spend quota"), usage, limits.monthly_spend_usd, cost, now=now
        )
    for team in moderation.team_usage_list(user=user, now=now):
        quota = team.quota
        if quota.daily_images is not None and team.images_today + images > quota.daily_images:
            _refuse_images(
                gettext("Team %(team)s's daily image quota") % {"team": quota.team.name},
                team,
                quota.daily_images,
                images,
                now=now,
            )
        if quota.monthly_spend_usd is not None and _over(
            team.spend_this_month, cost, quota.monthly_spend_usd
        ):
            _refuse_spend(
                gettext("Team %(team)s's monthly spend quota") % {"team": quota.team.name},
                team,
                quota.monthly_spend_usd,
                cost,
                now=now,
            )


def _refuse_images(what: str, usage, limit: int, images: int, *, now: dt.datetime):
    wait = moderation.seconds_until(usage.day_resets_at, now=now)
    asked = (
        ""
        if usage.images_today >= limit
        else gettext("; this job asks for %(images)s more") % {"images": images}
    )
    raise JobRefused(
        gettext(
            "%(what)s is reached: %(used)s of %(limit)s images today%(asked)s. "
            "It resets at 00:00 UTC, in %(wait)s."
        )
        % {
            "what": what,
            "used": usage.images_today,
            "limit": limit,
            "asked": asked,
            "wait": _duration(wait),
        },
        reason=Reason.QUOTA_EXHAUSTED,
        retry_after=wait,
    )


def _refuse_spend(what: str, usage, limit, cost: Decimal, *, now: dt.datetime):
    wait = moderation.seconds_until(usage.month_resets_at, now=now)
    spent = usage.spend_this_month
    # Spend counts what unfinished jobs have reserved.
    asked = (
        ""
        if spent >= limit
        else gettext("; this job would cost about $%(cost)s more") % {"cost": f"{cost:.2f}"}
    )
    raise JobRefused(
        gettext(
            "%(what)s is reached: $%(spent)s of $%(limit)s this month%(asked)s. "
            "It resets on %(day)s at 00:00 UTC, in %(wait)s."
        )
        % {
            "what": what,
            "spent": f"{spent:.2f}",
            "limit": f"{limit:.2f}",
            "asked": asked,
            "day": date_format(usage.month_resets_at, pgettext("date format", "d F Y")),
            "wait": _duration(wait),
        },
        reason=Reason.QUOTA_EXHAUSTED,
        retry_after=wait,
    )


def _check_prompt(*, user, prompt: str) -> None:
    term = moderation.blocked_term_match(prompt=prompt)
    if term is not None:
        prompt_refusal_record(
            user=user,
            source=ModerationEvent.Source.BLOCKLIST,
            code="blocked_term",
            detail=str(term),
            prompt=prompt,
        )
        raise JobRefused(
            gettext(
                "This prompt contains words that are not allowed on this site. "
                "Rephrase the prompt and try again."
            ),
            reason=Reason.PROMPT_REFUSED,
        )
    if not settings.ATELIER_PREMODERATION:
        return
    try:
        verdict = prompt_premoderate(prompt=prompt)
    except PremoderationUnavailable:
        # Fail closed: when pre-moderation is on, nothing goes out unchecked.
        raise JobRefused(
            gettext("The prompt check is unavailable right now. Try again in a minute."),
            reason=Reason.MODERATION_UNAVAILABLE,
            retry_after=PREMODERATION_RETRY_SECONDS,
        ) from None
    if verdict.flagged:
        categories = ", ".join(verdict.categories) or "unspecified"
        prompt_refusal_record(
            user=user,
            source=ModerationEvent.Source.PREMODERATION,
            code="flagged",
            detail=categories,
            prompt=prompt,
        )
        raise JobRefused(
            gettext(
                "The provider's moderation check flagged this prompt (%(categories)s). "
                "Rephrase the prompt and try again."
            )
            % {"categories": categories},
            reason=Reason.PROMPT_REFUSED,
        )


def _duration(seconds: int) -> str:
    if seconds < 60:
        return ngettext("%(count)s second", "%(count)s seconds", seconds) % {"count": seconds}
    minutes = -(-seconds // 60)
    if minutes < 60:
        return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if minutes:
            return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        return gettext("%(hours)s h") % {"hours": hours}
    days = -(-hours // 24)
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}
