from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0002_joborigin"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="accesstoken",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "access token",
                "verbose_name_plural": "access tokens",
            },
        ),
        migrations.AlterModelOptions(
            name="joborigin",
            options={"verbose_name": "job origin", "verbose_name_plural": "job origins"},
        ),
    ]
