from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"

    def ready(self) -> None:
        from jobs.signals import job_finished
        from webhooks.services import on_job_finished

        job_finished.connect(on_job_finished, dispatch_uid="webhooks.on_job_finished")
