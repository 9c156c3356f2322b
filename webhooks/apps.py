from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from jobs.signals import job_finished
        from webhooks.services import on_job_finished

        job_finished.connect(on_job_finished, dispatch_uid="webhooks.on_job_finished")
