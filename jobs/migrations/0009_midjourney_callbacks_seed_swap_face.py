from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0008_provideranswer_item_keys"),
    ]

    operations = [
        migrations.AddField(
            model_name="generationjob",
            name="provider_callback_secret",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="generationjob",
            name="provider_task_state",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="generationjob",
            name="provider_seed",
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AlterField(
            model_name="generationjob",
            name="kind",
            field=models.CharField(
                choices=[
                    ("generate", "Generate"),
                    ("edit", "Edit"),
                    ("variation", "Variation"),
                    ("blend", "Blend"),
                    ("describe", "Describe"),
                    ("action", "Action"),
                    ("shorten", "Shorten"),
                    ("swap_face", "Face swap"),
                ],
                default="generate",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="providerconnection",
            name="swap_face_enabled",
            field=models.BooleanField(
                default=False,
                help_text="Midjourney connections: offer InsightFace face swaps (each one is "
                "recorded as a moderation event).",
            ),
        ),
        migrations.AddField(
            model_name="providerconnection",
            name="stream_replies",
            field=models.BooleanField(
                default=False,
                help_text="Chat-completion connections: ask for streamed replies and show "
                "their progress text while they arrive.",
            ),
        ),
    ]
