from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("openai_api", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="idempotencykey",
            options={"verbose_name": "idempotency key", "verbose_name_plural": "idempotency keys"},
        ),
    ]
