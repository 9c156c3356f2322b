"""Today's models, from the shipped file: the registry's old Python defaults, as data."""

from django.db import migrations


def load(apps, schema_editor):
    from catalogue.services import catalogue_load

    catalogue_load(model=apps.get_model("catalogue", "CatalogueModel"))


class Migration(migrations.Migration):
    dependencies = [("catalogue", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
