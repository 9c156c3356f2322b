"""What a job costs: reserved at admission from the estimate, settled from the answer."""

from __future__ import annotations

from decimal import Decimal

from jobs.models import GenerationJob
from jobs.registry import ModelSpec, get_model


def money_field():
    return GenerationJob._meta.get_field("cost_usd")


def job_estimate_usd(spec: ModelSpec, params: dict) -> Decimal | None:
    """The registry's price for what a request asks for: what admission reserves."""
    price = spec.estimated_cost_usd(params=params)
    return None if price is None else Decimal(str(price))


def job_cost_usd(job: GenerationJob, *, images: int) -> Decimal | None:
    """Cost from the registry's per-image price for the job's quality."""
    price = get_model(job.model).estimated_cost_usd(params={**job.params, "n": images})
    return None if price is None else Decimal(str(price))
