import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0009_midjourney_callbacks_seed_swap_face"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="generationjob",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "generation job",
                "verbose_name_plural": "generation jobs",
            },
        ),
        migrations.AlterModelOptions(
            name="provideranswer",
            options={"verbose_name": "provider answer", "verbose_name_plural": "provider answers"},
        ),
        migrations.AlterModelOptions(
            name="providerconnection",
            options={
                "ordering": ["name"],
                "verbose_name": "provider connection",
                "verbose_name_plural": "provider connections",
            },
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="attempts",
            field=models.PositiveIntegerField(default=0, verbose_name="attempts"),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="connection",
            field=models.CharField(
                help_text="Name of the connection that serves it.",
                max_length=64,
                verbose_name="connection",
            ),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="error_code",
            field=models.CharField(blank=True, max_length=64, verbose_name="error code"),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="model",
            field=models.CharField(max_length=64, verbose_name="model"),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="generation_jobs",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="status",
            field=models.CharField(
                choices=[
                    ("queued", "Queued"),
                    ("running", "Running"),
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("unknown", "Outcome unknown"),
                    ("cancelled", "Cancelled"),
                ],
                default="queued",
                max_length=16,
                verbose_name="status",
            ),
        ),
        migrations.AlterField(
            model_name="providerconnection",
            name="base_url",
            field=models.URLField(max_length=500, verbose_name="base URL"),
        ),
        migrations.AlterField(
            model_name="providerconnection",
            name="enabled",
            field=models.BooleanField(default=True, verbose_name="enabled"),
        ),
        migrations.AlterField(
            model_name="providerconnection",
            name="family",
            field=models.CharField(
                choices=[
                    ("openai_images", "openai_images"),
                    ("chat_completions", "chat_completions"),
                    ("midjourney", "midjourney"),
                    ("demo", "demo"),
                ],
                max_length=32,
                verbose_name="provider family",
            ),
        ),
        migrations.AlterField(
            model_name="providerconnection",
            name="name",
            field=models.SlugField(max_length=64, unique=True, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="providerconnection",
            name="updated_at",
            field=models.DateTimeField(auto_now=True, verbose_name="updated"),
        ),
    ]
