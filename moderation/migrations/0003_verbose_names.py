import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0010_verbose_names"),
        ("moderation", "0002_teamquota"),
        ("teams", "0003_verbose_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.AlterModelOptions(
            name="blockedterm",
            options={
                "ordering": ["pattern"],
                "verbose_name": "blocked term",
                "verbose_name_plural": "blocked terms",
            },
        ),
        migrations.AlterModelOptions(
            name="imagereport",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "image report",
                "verbose_name_plural": "image reports",
            },
        ),
        migrations.AlterModelOptions(
            name="moderationevent",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "moderation event",
                "verbose_name_plural": "moderation events",
            },
        ),
        migrations.AlterModelOptions(
            name="quota",
            options={"verbose_name": "user quota", "verbose_name_plural": "user quotas"},
        ),
        migrations.AlterModelOptions(
            name="suspension",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "suspension",
                "verbose_name_plural": "suspensions",
            },
        ),
        migrations.AlterModelOptions(
            name="teamquota",
            options={"verbose_name": "team quota", "verbose_name_plural": "team quotas"},
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(max_length=64, verbose_name="action"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="actor",
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="reason",
            field=models.TextField(blank=True, verbose_name="reason"),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="target_repr",
            field=models.CharField(blank=True, max_length=255, verbose_name="target"),
        ),
        migrations.AlterField(
            model_name="blockedterm",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="blockedterm",
            name="is_active",
            field=models.BooleanField(default=True, verbose_name="enforced"),
        ),
        migrations.AlterField(
            model_name="blockedterm",
            name="kind",
            field=models.CharField(
                choices=[("word", "Word or phrase"), ("regex", "Regular expression")],
                default="word",
                max_length=8,
                verbose_name="kind",
            ),
        ),
        migrations.AlterField(
            model_name="blockedterm",
            name="note",
            field=models.CharField(
                blank=True,
                help_text="Why it is blocked (staff only).",
                max_length=200,
                verbose_name="note",
            ),
        ),
        migrations.AlterField(
            model_name="blockedterm",
            name="pattern",
            field=models.CharField(max_length=500, verbose_name="pattern"),
        ),
        migrations.AlterField(
            model_name="imagereport",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="imagereport",
            name="reason",
            field=models.TextField(verbose_name="reason"),
        ),
        migrations.AlterField(
            model_name="imagereport",
            name="reporter",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="image_reports",
                to=settings.AUTH_USER_MODEL,
                verbose_name="reporter",
            ),
        ),
        migrations.AlterField(
            model_name="imagereport",
            name="status",
            field=models.CharField(
                choices=[
                    ("open", "Open"),
                    ("approved", "Approved (image kept)"),
                    ("hidden", "Image hidden"),
                    ("deleted", "Image deleted"),
                ],
                default="open",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="moderationevent",
            name="code",
            field=models.CharField(max_length=64, verbose_name="code"),
        ),
        migrations.AlterField(
            model_name="moderationevent",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="moderationevent",
            name="detail",
            field=models.TextField(blank=True, verbose_name="detail"),
        ),
        migrations.AlterField(
            model_name="moderationevent",
            name="job",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="moderation_events",
                to="jobs.generationjob",
                verbose_name="job",
            ),
        ),
        migrations.AlterField(
            model_name="moderationevent",
            name="source",
            field=models.CharField(
                choices=[
                    ("provider", "Provider content policy"),
                    ("blocklist", "Prompt blocklist"),
                    ("premoderation", "Pre-moderation"),
                ],
                max_length=16,
                verbose_name="source",
            ),
        ),
        migrations.AlterField(
            model_name="moderationevent",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="moderation_events",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        migrations.AlterField(
            model_name="quota",
            name="daily_images",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Images per UTC day; empty for the site default.",
                null=True,
                verbose_name="images per day",
            ),
        ),
        migrations.AlterField(
            model_name="quota",
            name="jobs_per_minute",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Job submissions per minute; empty for the site default.",
                null=True,
                verbose_name="jobs per minute",
            ),
        ),
        migrations.AlterField(
            model_name="quota",
            name="monthly_spend_usd",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text="Spend per UTC calendar month in USD; empty for the site default.",
                max_digits=10,
                null=True,
                verbose_name="monthly spend (USD)",
            ),
        ),
        migrations.AlterField(
            model_name="quota",
            name="user",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="quota",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        migrations.AlterField(
            model_name="suspension",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="suspension",
            name="created_by",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="created by",
            ),
        ),
        migrations.AlterField(
            model_name="suspension",
            name="lifted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="lifted"),
        ),
        migrations.AlterField(
            model_name="suspension",
            name="reason",
            field=models.TextField(verbose_name="reason"),
        ),
        migrations.AlterField(
            model_name="suspension",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="suspensions",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        migrations.AlterField(
            model_name="teamquota",
            name="daily_images",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Images per UTC day for the whole team.",
                null=True,
                verbose_name="images per day",
            ),
        ),
        migrations.AlterField(
            model_name="teamquota",
            name="monthly_spend_usd",
            field=models.DecimalField(
                blank=True,
                decimal_places=2,
                help_text="Spend per UTC calendar month in USD for the whole team.",
                max_digits=10,
                null=True,
                verbose_name="monthly spend (USD)",
            ),
        ),
        migrations.AlterField(
            model_name="teamquota",
            name="team",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="quota",
                to="teams.team",
                verbose_name="team",
            ),
        ),
    ]
