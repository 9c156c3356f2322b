from django.core.management.base import BaseCommand, CommandError

from catalogue.checks import models_check


class Command(BaseCommand):
    help = "Ask a connection's provider for GET /v1/models and compare it with the catalogue."

    def add_arguments(self, parser):
        parser.add_argument("connection", help="The connection's name, e.g. openai.")

    def handle(self, *args, connection, **options):
        report = models_check(connection_name=connection)
        if report.error:
            raise CommandError(report.error)
        for label, names in (
            ("served", report.served),
            ("missing (claimed, not listed; marked for review)", report.missing),
            ("listed, not claimed", report.also_listed),
            ("unknown (add from a template in the admin)", report.unknown),
        ):
            self.stdout.write(f"{label}: {', '.join(names) if names else '-'}")
