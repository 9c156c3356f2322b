"""Signing secrets move from plaintext to sealed (webhooks.sealing)."""

from django.db import migrations, models


def seal(apps, schema_editor):
    from webhooks.sealing import secret_seal

    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.only("id", "secret").iterator():
        Endpoint.objects.filter(id=endpoint.id).update(secret_sealed=secret_seal(endpoint.secret))


def unseal(apps, schema_editor):
    from webhooks.sealing import secret_open

    Endpoint = apps.get_model("webhooks", "Endpoint")
    for endpoint in Endpoint.objects.only("id", "secret_sealed").iterator():
        Endpoint.objects.filter(id=endpoint.id).update(secret=secret_open(endpoint.secret_sealed))


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="endpoint",
            name="secret_sealed",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        # A default, so that going back re-adds the column to existing rows before unseal.
        migrations.AlterField(
            model_name="endpoint",
            name="secret",
            field=models.CharField(default="", editable=False, max_length=100),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RemoveField(model_name="endpoint", name="secret"),
    ]
