"""Signals other apps may listen to; jobs itself never depends on who listens."""

from django.dispatch import Signal

# Sent once a job has reached a terminal status (succeeded, failed, unknown, cancelled),
# after the UPDATE that put it there. Arguments: job_id, status, code. A cancelled job whose
# paid images were kept afterwards sends it a second time; receivers must be idempotent.
job_finished = Signal()
