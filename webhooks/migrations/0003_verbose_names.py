from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0002_secret_sealed"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="delivery",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "delivery",
                "verbose_name_plural": "deliveries",
            },
        ),
        migrations.AlterModelOptions(
            name="deliveryattempt",
            options={
                "ordering": ["delivery", "number"],
                "verbose_name": "delivery attempt",
                "verbose_name_plural": "delivery attempts",
            },
        ),
        migrations.AlterModelOptions(
            name="endpoint",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "webhook endpoint",
                "verbose_name_plural": "webhook endpoints",
            },
        ),
    ]
