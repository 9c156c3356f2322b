"""What a job costs: reserved at admission from the estimate, settled from the answer."""

from __future__ import annotations

from decimal import Decimal

from jobs.models import GenerationJob, ProviderAnswer
from jobs.registry import ModelSpec, UnknownModel, get_model


def money_field():
    return GenerationJob._meta.get_field("cost_usd")


def job_estimate_usd(spec: ModelSpec, params: dict) -> Decimal | None:
    """The catalogue's price for what a request asks for: what admission reserves."""
    price = spec.estimated_cost_usd(params=params)
    return None if price is None else Decimal(str(price))


def _answer_usage(job: GenerationJob) -> dict:
    """The usage the provider's kept answer reported (the job row may not hold it yet)."""
    usage = ProviderAnswer.objects.filter(job_id=job.id).values_list("usage", flat=True).first()
    return usage if isinstance(usage, dict) and usage else (job.usage or {})


def job_cost_usd(job: GenerationJob, *, images: int) -> Decimal | None:
    """What the job cost: from the answer's token counts when it reports them and the
    entry has token prices (GPT image models), else the per-image price for the images
    made. The Usage page and quotas sum this figure."""
    try:
        spec = get_model(job.model)
    except UnknownModel:
        # Removed from the catalogue since: what admission reserved is the best figure.
        return job.cost_usd
    if spec.token_prices_usd:
        from_tokens = spec.token_cost_usd(_answer_usage(job))
        if from_tokens is not None:
            return Decimal(str(from_tokens)).quantize(Decimal("0.0001"))
    price = spec.estimated_cost_usd(params={**job.params, "n": images})
    return None if price is None else Decimal(str(price))
