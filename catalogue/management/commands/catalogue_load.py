from django.core.management.base import BaseCommand

from catalogue.services import catalogue_load


class Command(BaseCommand):
    help = (
        "Load or update the model catalogue from the shipped JSON file (or --file), field by "
        "field: fields an administrator edited are kept, new models are added."
    )

    def add_arguments(self, parser):
        parser.add_argument("--file", help="A catalogue JSON file instead of the shipped one.")

    def handle(self, *args, file=None, **options):
        report = catalogue_load(path=file)
        out = self.stdout
        out.write(f"Catalogue version {report.version}")
        for label, names in (
            ("added", report.added),
            ("updated", report.updated),
            ("unchanged", report.unchanged),
            ("kept (added by an administrator)", report.kept),
            ("kept edits", report.kept_fields),
        ):
            out.write(f"{label}: {', '.join(names) if names else '-'}")
        for name, reason in report.refused.items():
            self.stderr.write(f"not updated: {name}: {reason}")
