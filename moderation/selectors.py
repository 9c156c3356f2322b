"""Reading side of moderation: limits and use, spend, the report queue, staff statistics."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Cast, Coalesce, TruncDate, TruncMonth
from django.utils import timezone

from gallery.models import Image
from jobs.models import GenerationJob
from moderation.models import AuditEntry, BlockedTerm, ImageReport, Quota, Suspension, TeamQuota
from moderation.permissions import sees_every_image
from teams.models import Membership

Status = GenerationJob.Status
MONEY: DecimalField[Decimal, Decimal] = DecimalField(max_digits=12, decimal_places=4)
RATE_WINDOW = dt.timedelta(minutes=1)
NUMBER_RE = r"^[0-9]{1,6}(\.[0-9]{1,10})?([eE]-?[0-9]{1,2})?$"
# Jobs that made, or may still make (and bill), images count against the quota: a failed
# or cancelled job only for the images it stored.
NOT_COUNTED = (Status.FAILED, Status.CANCELLED)
COUNTED = Q(images_stored__gt=0) | ~Q(status__in=NOT_COUNTED)


def job_spend():
    """A job's cost: what the provider reported in ``usage.cost`` when that is a number,
    else ``cost_usd``: the registry price reserved at admission while the job is unfinished,
    settled to what was billed (or nothing) when it ends."""
    registry_price = Coalesce("cost_usd", Value(Decimal("0")), output_field=MONEY)
    return Case(
        # Provider answers are not ours to trust: a malformed cost must not break every sum.
        When(
            usage__cost__regex=NUMBER_RE,
            then=Cast(KeyTextTransform("cost", "usage"), MONEY),
        ),
        default=registry_price,
        output_field=MONEY,
    )


def job_images():
    """Images a job stored once it ended (a chat reply may hold several); until then the
    images it asks for (``params.n``, one when absent)."""
    asked = Coalesce(
        Cast(KeyTextTransform("n", "params"), IntegerField()), Value(1), output_field=IntegerField()
    )
    return Case(
        When(images_stored__isnull=False, then=F("images_stored")),
        default=asked,
        output_field=IntegerField(),
    )


# -- time windows ----------------------------------------------------------------


def day_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = now.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + dt.timedelta(days=1)


def month_bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start = now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + dt.timedelta(days=32)).replace(day=1)
    return start, following


def seconds_until(moment: dt.datetime, *, now: dt.datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


# -- limits and use ----------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    daily_images: int
    monthly_spend_usd: Decimal
    jobs_per_minute: int


@dataclass(frozen=True)
class Usage:
    limits: Limits
    images_today: int
    day_resets_at: dt.datetime
    spend_this_month: Decimal
    month_resets_at: dt.datetime
    jobs_last_minute: int
    oldest_recent_job_at: dt.datetime | None

    @property
    def images_percent(self) -> int:
        return _percent(self.images_today, self.limits.daily_images)

    @property
    def spend_percent(self) -> int:
        return _percent(self.spend_this_month, self.limits.monthly_spend_usd)


def _percent(used, limit) -> int:
    if not limit:
        return 100
    return min(100, int(used * 100 / limit))


def quota_limits(*, user) -> Limits:
    quota = Quota.objects.filter(user=user).first()

    def pick(name, default):
        value = getattr(quota, name, None) if quota else None
        return default if value is None else value

    return Limits(
        daily_images=pick("daily_images", settings.ATELIER_DEFAULT_DAILY_IMAGES),
        monthly_spend_usd=Decimal(
            pick("monthly_spend_usd", settings.ATELIER_DEFAULT_MONTHLY_SPEND_USD)
        ),
        jobs_per_minute=pick("jobs_per_minute", settings.ATELIER_RATE_LIMIT_JOBS_PER_MINUTE),
    )


def usage_get(*, user, now: dt.datetime | None = None) -> Usage:
    """A user's quota use right now: three aggregates in one query."""
    now = now or timezone.now()
    day_start, day_end = day_bounds(now)
    month_start, month_end = month_bounds(now)
    minute_ago = now - RATE_WINDOW
    counted = COUNTED
    totals = GenerationJob.objects.filter(
        owner=user, created_at__gte=min(month_start, minute_ago), created_at__lte=now
    ).aggregate(
        images=Coalesce(Sum(job_images(), filter=counted & Q(created_at__gte=day_start)), Value(0)),
        spend=Coalesce(
            Sum(job_spend(), filter=Q(created_at__gte=month_start)),
            Value(Decimal("0")),
            output_field=MONEY,
        ),
        recent=Count("id", filter=Q(created_at__gt=minute_ago)),
    )
    oldest = None
    if totals["recent"]:
        oldest = (
            GenerationJob.objects.filter(owner=user, created_at__gt=minute_ago, created_at__lte=now)
            .order_by("created_at")
            .values_list("created_at", flat=True)
            .first()
        )
    return Usage(
        limits=quota_limits(user=user),
        images_today=totals["images"],
        day_resets_at=day_end,
        spend_this_month=totals["spend"],
        month_resets_at=month_end,
        jobs_last_minute=totals["recent"],
        oldest_recent_job_at=oldest,
    )


def spend_by_month(*, user=None, months: int = 12, now: dt.datetime | None = None) -> list[dict]:
    """Jobs, images and spend per calendar month (UTC), newest first; one user or everyone."""
    now = now or timezone.now()
    start = month_bounds(now)[0]
    for _ in range(months - 1):
        start = month_bounds(start - dt.timedelta(days=1))[0]
    jobs = GenerationJob.objects.filter(created_at__gte=start)
    images = Image.objects.filter(created_at__gte=start)
    if user is not None:
        jobs, images = jobs.filter(owner=user), images.filter(owner=user)
    month = TruncMonth("created_at", tzinfo=dt.UTC)
    # Images counted apart: joining them to jobs would count a job's spend once per image.
    per_month = dict(images.annotate(month=month).values_list("month").annotate(Count("id")))
    rows = list(
        jobs.annotate(month=month)
        .values("month")
        .annotate(
            jobs=Count("id"),
            spend=Coalesce(Sum(job_spend()), Value(Decimal("0")), output_field=MONEY),
        )
        .order_by("-month")
    )
    for row in rows:
        row["images"] = per_month.get(row["month"], 0)
    return rows


def spend_by_user(*, now: dt.datetime | None = None, limit: int = 10) -> list[dict]:
    """This month's biggest spenders."""
    month_start, _ = month_bounds(now or timezone.now())
    return list(
        GenerationJob.objects.filter(created_at__gte=month_start)
        .values("owner_id", "owner__username")
        .annotate(
            jobs=Count("id"),
            spend=Coalesce(Sum(job_spend()), Value(Decimal("0")), output_field=MONEY),
        )
        .order_by("-spend", "-jobs", "owner__username")[:limit]
    )


# -- admission ------------------------------------------------------------------


def suspension_active(*, user) -> Suspension | None:
    return Suspension.objects.filter(user=user, lifted_at__isnull=True).first()


def _term_regex(term: BlockedTerm) -> re.Pattern:
    if term.kind == BlockedTerm.Kind.REGEX:
        return re.compile(term.pattern, re.IGNORECASE)
    words = [re.escape(word) for word in term.pattern.split()]
    # Whole words only, so "ass" does not block "class"; any spacing between words.
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def blocked_term_match(*, prompt: str) -> BlockedTerm | None:
    for term in BlockedTerm.objects.filter(is_active=True):
        try:
            if _term_regex(term).search(prompt):
                return term
        except re.error:
            continue  # the admin validates patterns; a bad row must not stop every job
    return None


# -- staff views ------------------------------------------------------------------


def report_queue(*, include_resolved: bool = False) -> QuerySet[Image]:
    """Images with open reports (or any reports), most reported first."""
    reports = ImageReport.objects.select_related("reporter").order_by("-created_at")
    status_filter = Q() if include_resolved else Q(reports__status=ImageReport.Status.OPEN)
    return (
        Image.objects.filter(status_filter, reports__isnull=False)
        .annotate(open_reports=Count("reports", filter=Q(reports__status="open"), distinct=True))
        .select_related("owner", "job")
        .prefetch_related(Prefetch("reports", queryset=reports))
        .order_by("-open_reports", "-id")
        .distinct()
    )


def image_reports(*, image: Image) -> list[ImageReport]:
    """Every report on one image, newest first, with who filed it (the image page's banner)."""
    return list(image.reports.select_related("reporter", "resolved_by").order_by("-created_at"))


def image_page_moderation(*, user, image: Image) -> dict:
    """What the image page shows about moderation: for staff, the image's state and every
    report with who filed it and why; for everyone, whether they may report it."""
    staff = sees_every_image(user)
    return {
        "staff_review": staff,
        "staff_reports": image_reports(image=image) if staff else [],
        # Staff decide on the page itself; suspended members cannot report.
        "can_report": not staff
        and image.owner_id != user.id
        and suspension_active(user=user) is None,
    }


MEMBERS_PAGE = 50


def member_list(*, q: str = "", suspended: bool = False, limit: int = MEMBERS_PAGE):
    """Accounts for staff, found by part of the username or email, with what moderation needs
    at a glance: images, open reports against them, and whether they are suspended."""
    users = get_user_model().objects.all()
    if q:
        users = users.filter(Q(username__icontains=q) | Q(email__icontains=q))
    active = Suspension.objects.filter(user=OuterRef("pk"), lifted_at__isnull=True)
    users = users.annotate(is_suspended=Exists(active))
    if suspended:
        users = users.filter(is_suspended=True)
    open_reports = ImageReport.objects.filter(
        image__owner=OuterRef("pk"), status=ImageReport.Status.OPEN
    )
    return list(
        users.annotate(
            image_count=Subquery(
                Image.objects.filter(owner=OuterRef("pk"))
                .order_by()
                .values("owner")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
            open_reports=Subquery(
                open_reports.order_by()
                .values("image__owner")
                .annotate(n=Count("id"))
                .values("n")[:1]
            ),
        ).order_by("username")[: limit + 1]
    )


def images_of(*, user) -> QuerySet[Image]:
    return Image.objects.filter(owner=user)


def dashboard_stats(*, now: dt.datetime | None = None, days: int = 14) -> dict:
    now = now or timezone.now()
    since = day_bounds(now)[0] - dt.timedelta(days=days - 1)
    by_status = dict(GenerationJob.objects.values_list("status").annotate(n=Count("id")).order_by())
    failures = list(
        GenerationJob.objects.filter(status=Status.FAILED)
        .values("error_code")
        .annotate(n=Count("id"))
        .order_by("-n", "error_code")
    )
    per_day = dict(
        Image.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=dt.UTC))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )
    images_per_day = [
        (day, per_day.get(day, 0))
        for day in ((since + dt.timedelta(days=i)).date() for i in range(days))
    ]
    storage = Image.objects.aggregate(
        bytes=Coalesce(Sum("bytes"), Value(0)),
        images=Count("id"),
        hidden=Count("id", filter=Q(is_hidden=True)),
    )
    return {
        "jobs_by_status": [(label, by_status.get(value, 0)) for value, label in Status.choices],
        "failures_by_code": [(row["error_code"] or "(none)", row["n"]) for row in failures],
        "images_per_day": images_per_day,
        "storage": storage,
        "top_users": spend_by_user(now=now),
        "top_teams": team_spend(now=now)[:10],
        "open_reports": ImageReport.objects.filter(status=ImageReport.Status.OPEN).count(),
        "active_suspensions": Suspension.objects.filter(lifted_at__isnull=True).count(),
        "recent_actions": list(AuditEntry.objects.select_related("actor")[:15]),
    }


# -- teams ------------------------------------------------------------------------
# Jobs belong to people. A team's figures count only work done in the team: the
# jobs whose images are in its library. What members make for themselves stays theirs.


def team_jobs(*, team_id: int) -> QuerySet[GenerationJob]:
    in_library = Image.objects.filter(team_id=team_id).values("job_id")
    return GenerationJob.objects.filter(id__in=in_library)


def team_spend(*, user=None, now: dt.datetime | None = None) -> list[dict]:
    """This month's jobs and spend per team (the user's teams, or every team for staff)."""
    month_start, _ = month_bounds(now or timezone.now())
    # One row per (job, team): the job's first image in that team, so that a job with
    # several images in one library is counted, and its spend summed, once.
    first_in_team = ~Exists(
        Image.objects.filter(
            job_id=OuterRef("id"),
            team_id=OuterRef("images__team_id"),
            index__lt=OuterRef("images__index"),
        )
    )
    in_team = Q(images__team__isnull=False)
    if user is not None:
        in_team = Q(images__team__in=Membership.objects.filter(user=user).values("team_id"))
    jobs = GenerationJob.objects.filter(in_team, first_in_team, created_at__gte=month_start)
    return list(
        jobs.values(team_id=F("images__team_id"), team=F("images__team__name"))
        .annotate(
            jobs=Count("id"),
            spend=Coalesce(Sum(job_spend()), Value(Decimal("0")), output_field=MONEY),
        )
        .order_by("-spend", "team")
    )


@dataclass(frozen=True)
class TeamUsage:
    quota: TeamQuota
    images_today: int
    spend_this_month: Decimal
    day_resets_at: dt.datetime
    month_resets_at: dt.datetime


def team_usage_list(*, user, now: dt.datetime | None = None) -> list[TeamUsage]:
    """Use against each limited team the user belongs to (teams without a quota are free),
    counting the work done in the team."""
    now = now or timezone.now()
    day_start, day_end = day_bounds(now)
    month_start, month_end = month_bounds(now)
    counted = COUNTED
    result = []
    for quota in TeamQuota.objects.filter(team__memberships__user=user).select_related("team"):
        totals = (
            team_jobs(team_id=quota.team_id)
            .filter(
                created_at__gte=month_start,
                created_at__lte=now,
            )
            .aggregate(
                images=Coalesce(
                    Sum(job_images(), filter=counted & Q(created_at__gte=day_start)), Value(0)
                ),
                spend=Coalesce(Sum(job_spend()), Value(Decimal("0")), output_field=MONEY),
            )
        )
        result.append(
            TeamUsage(
                quota=quota,
                images_today=totals["images"],
                spend_this_month=totals["spend"],
                day_resets_at=day_end,
                month_resets_at=month_end,
            )
        )
    return result
