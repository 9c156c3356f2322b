from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogueConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "catalogue"
    verbose_name = _("Model catalogue")

    def ready(self) -> None:
        from django.core.signals import request_started

        from jobs.registry import catalogue_expire

        # A web request sees every edit committed before it began; the worker, which
        # serves no requests, checks every CHECK_SECONDS.
        request_started.connect(catalogue_expire, dispatch_uid="catalogue_expire")
