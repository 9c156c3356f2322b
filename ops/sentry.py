"""Error reporting to Sentry, switched on by SENTRY_DSN (read in settings)."""

import sentry_sdk
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration


def sentry_init(*, dsn: str, environment: str) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        # Prompts and user names stay out of reports; errors only, no tracing by default.
        send_default_pii=False,
        traces_sample_rate=0.0,
    )
