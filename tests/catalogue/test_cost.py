"""A GPT image answer's usage prices the job when the entry has token prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from jobs import services
from jobs.models import GenerationJob
from jobs.registry import get_model
from moderation.selectors import usage_get

Status = GenerationJob.Status


@pytest.fixture
def run(alice, settings, catalogue, fake_provider, s3):
    settings.ATELIER_OPENAI_MODELS = ["gpt-image-1-mini", "gpt-image-2"]

    def make(model, prompt, **params):
        job = services.job_create(user=alice, model_name=model, prompt=prompt, params=params)
        services.job_run(job_id=job.id)
        job.refresh_from_db()
        assert job.status == Status.SUCCEEDED, job.error_message
        return job

    return make


def test_a_token_priced_answer_costs_its_tokens(run, alice):
    job = run("gpt-image-1-mini", "a kite over dunes", quality="low")
    # The fake reports 50 text tokens in, no image tokens, 4,160 image tokens out; GPT
    # Image 1 Mini costs $2 / $2.50 / $8 per million of them.
    assert job.usage["input_tokens_details"] == {"image_tokens": 0, "text_tokens": 50}
    assert job.cost_usd == Decimal("0.0334")  # (50 * 2 + 4160 * 8) / 1e6 = 0.03338
    listed = get_model("gpt-image-1-mini").estimated_cost_usd(params={"quality": "low", "n": 1})
    assert Decimal(str(listed)) != job.cost_usd
    assert usage_get(user=alice).spend_this_month == Decimal("0.0334")


def test_an_entry_without_token_prices_costs_its_per_image_price(run):
    job = run("gpt-image-2", "a kite over hills", quality="high", n=2)
    assert job.usage["output_tokens"] == 4160
    assert job.cost_usd == Decimal("0.334")  # 2 x $0.167


def test_per_image_prices_by_size_and_quality():
    mini = get_model("gpt-image-1-mini")
    assert mini.estimated_cost_usd(params={"size": "1536x1024", "quality": "high", "n": 2}) == (
        0.104
    )
    assert mini.estimated_cost_usd(params={"size": "auto", "quality": "high", "n": 1}) == 0.036
    assert get_model("midjourney").estimated_cost_usd(params={}) == 0.05
    assert get_model("gpt-4-all").estimated_cost_usd(params={}) == 0.04
