from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("teams", "0002_invitation"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="invitation",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "invitation",
                "verbose_name_plural": "invitations",
            },
        ),
        migrations.AlterModelOptions(
            name="membership",
            options={
                "ordering": ["team", "user"],
                "verbose_name": "membership",
                "verbose_name_plural": "memberships",
            },
        ),
        migrations.AlterModelOptions(
            name="team",
            options={
                "ordering": ["name", "id"],
                "verbose_name": "team",
                "verbose_name_plural": "teams",
            },
        ),
    ]
