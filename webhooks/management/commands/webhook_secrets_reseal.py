from django.core.management.base import BaseCommand

from webhooks.services import endpoint_secrets_reseal


class Command(BaseCommand):
    help = (
        "Reseal every webhook signing secret under the first ATELIER_WEBHOOK_KEY, so that an "
        "older key (or a SECRET_KEY fallback) can be dropped. The secrets do not change."
    )

    def handle(self, *args, **options):
        count = endpoint_secrets_reseal()
        self.stdout.write(f"Resealed {count} webhook secret(s).")
