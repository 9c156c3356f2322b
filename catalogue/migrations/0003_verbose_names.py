from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("catalogue", "0002_load_shipped_defaults"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="pairingreview",
            options={
                "ordering": ["resolved", "-last_seen_at"],
                "verbose_name": "pairing review",
                "verbose_name_plural": "pairing reviews",
            },
        ),
    ]
