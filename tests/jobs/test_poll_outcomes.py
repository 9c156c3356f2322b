"""A failed poll of a Midjourney task: wait, give up, or end, and never submit again."""

import pytest

from jobs.providers import ProviderError
from jobs.services.outcomes import PollDecision, poll_error_decision


@pytest.mark.parametrize(
    ("code", "retryable", "past_deadline", "decision"),
    [
        ("connection_error", True, False, PollDecision.WAIT),
        ("timeout_unknown_outcome", False, False, PollDecision.WAIT),
        ("connection_error", True, True, PollDecision.GIVE_UP),
        ("mj_task_lost", False, False, PollDecision.UNKNOWN),
        ("mj_task_lost", False, True, PollDecision.UNKNOWN),
        ("invalid_api_key", False, False, PollDecision.FAILED),
        ("timeout_unknown_outcome", False, True, PollDecision.FAILED),
    ],
)
def test_a_failed_poll_is_decided_by_its_error_and_the_deadline(
    code, retryable, past_deadline, decision
):
    error = ProviderError(code, retryable=retryable)

    assert poll_error_decision(error, past_deadline=past_deadline) is decision
