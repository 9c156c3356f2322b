import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("gallery", "0003_search_collections_teams"),
        ("jobs", "0010_verbose_names"),
        ("teams", "0003_verbose_names"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="collection",
            options={
                "ordering": ["name", "id"],
                "verbose_name": "collection",
                "verbose_name_plural": "collections",
            },
        ),
        migrations.AlterModelOptions(
            name="collectionitem",
            options={"verbose_name": "collection item", "verbose_name_plural": "collection items"},
        ),
        migrations.AlterModelOptions(
            name="favourite",
            options={"verbose_name": "favourite", "verbose_name_plural": "favourites"},
        ),
        migrations.AlterModelOptions(
            name="image",
            options={
                "ordering": ["-created_at", "-id"],
                "verbose_name": "image",
                "verbose_name_plural": "images",
            },
        ),
        migrations.AlterModelOptions(
            name="searchterm",
            options={"verbose_name": "search term", "verbose_name_plural": "search terms"},
        ),
        migrations.AlterModelOptions(
            name="tag",
            options={"ordering": ["name"], "verbose_name": "tag", "verbose_name_plural": "tags"},
        ),
        migrations.AlterField(
            model_name="collection",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="collection",
            name="name",
            field=models.CharField(max_length=100, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="collection",
            name="owner",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="collections",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.AlterField(
            model_name="collection",
            name="team",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="collections",
                to="teams.team",
                verbose_name="team",
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="bytes",
            field=models.PositiveBigIntegerField(verbose_name="size in bytes"),
        ),
        migrations.AlterField(
            model_name="image",
            name="created_at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="created"),
        ),
        migrations.AlterField(
            model_name="image",
            name="format",
            field=models.CharField(max_length=8, verbose_name="format"),
        ),
        migrations.AlterField(
            model_name="image",
            name="height",
            field=models.PositiveIntegerField(verbose_name="height"),
        ),
        migrations.AlterField(
            model_name="image",
            name="index",
            field=models.PositiveSmallIntegerField(
                help_text="Position in the provider's answer.", verbose_name="index"
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="is_hidden",
            field=models.BooleanField(default=False, verbose_name="hidden"),
        ),
        migrations.AlterField(
            model_name="image",
            name="job",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="images",
                to="jobs.generationjob",
                verbose_name="job",
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="owner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="images",
                to=settings.AUTH_USER_MODEL,
                verbose_name="owner",
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="team",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="images",
                to="teams.team",
                verbose_name="team",
            ),
        ),
        migrations.AlterField(
            model_name="image",
            name="title",
            field=models.CharField(blank=True, max_length=200, verbose_name="title"),
        ),
        migrations.AlterField(
            model_name="image",
            name="width",
            field=models.PositiveIntegerField(verbose_name="width"),
        ),
    ]
