"""The staff dashboard: jobs by status, failures by code, images per day, storage, top users."""

from decimal import Decimal

from django.urls import reverse

from jobs.models import GenerationJob
from tests.factories import GenerationJobFactory

Status = GenerationJob.Status


def test_the_dashboard_counts_jobs_failures_images_and_storage(
    client, staff, alice, bob, make_image, django_assert_max_num_queries
):
    images = [make_image(alice, prompt=f"img {i}") for i in range(2)]
    GenerationJobFactory(
        demo=True, owner=alice, status=Status.FAILED, error_code="content_policy_violation"
    )
    GenerationJobFactory(
        demo=True, owner=bob, status=Status.FAILED, error_code="content_policy_violation"
    )
    GenerationJobFactory(demo=True, owner=bob, status=Status.FAILED, error_code="invalid_model")
    GenerationJobFactory(demo=True, owner=bob, status=Status.SUCCEEDED, cost_usd=Decimal("3.5"))
    client.force_login(staff)
    with django_assert_max_num_queries(
        16
    ):  # + the catalogue check and its shutdown and pairing notices
        response = client.get(reverse("moderation:dashboard"))
    assert response.status_code == 200
    context = response.context
    by_status = dict(context["jobs_by_status"])
    assert (by_status["Queued"], by_status["Failed"], by_status["Succeeded"]) == (2, 3, 1)
    assert context["failures_by_code"] == [("content_policy_violation", 2), ("invalid_model", 1)]
    assert context["images_per_day"][-1][1] == 2
    assert context["storage"]["bytes"] == sum(image.bytes for image in images)
    assert [row["owner__username"] for row in context["top_users"]] == ["bob", "alice"]
    body = response.content.decode()
    assert "<svg" in body and "bar-fill" in body
    assert "content_policy_violation" in body
