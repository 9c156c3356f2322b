"""Celery adapters for webhooks: load by id, call a service, follow its retry advice.

Policy: acks_late; a redelivered or duplicated message is harmless because an attempt is
claimed in the database (due, not leased) before anything is sent. Retries are decided by
``webhooks.services`` from the delivery row's attempt count and the retry schedule, never
by Celery; a missing row is never retried. Short waits are enqueued with a countdown,
longer ones are picked up by the sweep.
"""

from celery import shared_task

from webhooks import services


@shared_task(
    name="webhooks.deliver",
    acks_late=True,
    ignore_result=True,
    max_retries=0,
    soft_time_limit=120,
    time_limit=150,
)
def deliver(delivery_id: str) -> None:
    outcome = services.delivery_attempt(delivery_id=delivery_id)
    if outcome.retry_in is not None and outcome.retry_in <= services.BROKER_COUNTDOWN_MAX_SECONDS:
        deliver.apply_async(args=(delivery_id,), countdown=outcome.retry_in)


@shared_task(name="webhooks.sweep", acks_late=True, ignore_result=True, expires=120)
def sweep() -> None:
    services.deliveries_sweep()
