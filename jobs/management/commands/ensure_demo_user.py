from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the local demo login (for the embedded default only) if it does not exist."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args, username, password, **options):
        User = get_user_model()
        user, created = User.objects.get_or_create(username=username)
        if created:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.save()
        self.stdout.write(
            f"Log in at http://127.0.0.1:8000/ as {username!r} "
            f"(password {password!r} unless you changed it)."
        )
