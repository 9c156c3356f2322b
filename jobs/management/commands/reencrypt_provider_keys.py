"""Re-encrypt the provider keys stored in the admin under the current DJANGO_SECRET_KEY.

Rotation: set the new DJANGO_SECRET_KEY, move the old one to DJANGO_SECRET_KEY_FALLBACKS,
run this command, then drop the fallback. Keys that no configured secret key decrypts are
listed (they must be re-entered in the admin) and make the command exit non-zero.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from jobs.connections import StoredKeyError, api_key_reencrypt
from jobs.models import ProviderConnection


class Command(BaseCommand):
    help = "Re-encrypt stored provider keys under the current DJANGO_SECRET_KEY."

    def handle(self, *args, **options):
        done, failed = 0, []
        with transaction.atomic():
            for row in ProviderConnection.objects.select_for_update().exclude(api_key_encrypted=""):
                try:
                    token = api_key_reencrypt(row.api_key_encrypted, base_url=row.base_url)
                except StoredKeyError as exc:
                    failed.append(f"{row.name} ({exc.code})")
                    continue
                ProviderConnection.objects.filter(pk=row.pk).update(api_key_encrypted=token)
                done += 1
        self.stdout.write(f"Re-encrypted {done} provider key(s).")
        if failed:
            raise CommandError(
                "These stored keys cannot be decrypted with DJANGO_SECRET_KEY or "
                f"DJANGO_SECRET_KEY_FALLBACKS; re-enter them in the admin: {', '.join(failed)}"
            )
