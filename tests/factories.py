"""factory_boy factories for the suite's rows.

A job is an OpenAI Images ``dall-e-3`` generation, queued, unless told otherwise; traits
name a kind or family (``demo``, ``edit``, ``variation``, ``midjourney``) or a status
(``running``, ``succeeded``, ``failed``, ``unknown``, ``cancelled``). A status trait sets
the status and nothing else, so a test states any other field it relies on.
"""

import factory
from django.contrib.auth import get_user_model

from gallery.models import Image
from jobs.models import GenerationJob, ProviderAnswer

PASSWORD = "correct horse battery staple"
Status = GenerationJob.Status
Kind = GenerationJob.Kind


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password(PASSWORD)


class GenerationJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GenerationJob

    owner = factory.SubFactory(UserFactory)
    kind = Kind.GENERATE
    provider = "openai_images"
    connection = "openai"
    model = "dall-e-3"
    prompt = "a lighthouse in fog"
    params = factory.LazyFunction(lambda: {"size": "1024x1024", "n": 1})
    status = Status.QUEUED

    class Params:
        demo = factory.Trait(provider="demo", connection="demo", model="demo", params={"n": 1})
        edit = factory.Trait(kind=Kind.EDIT, model="dall-e-2", params={"size": "1024x1024", "n": 1})
        variation = factory.Trait(
            kind=Kind.VARIATION, model="dall-e-2", params={"size": "1024x1024", "n": 1}
        )
        midjourney = factory.Trait(
            provider="midjourney", connection="fake-mj", model="midjourney", params={}
        )
        running = factory.Trait(status=Status.RUNNING)
        succeeded = factory.Trait(status=Status.SUCCEEDED)
        failed = factory.Trait(status=Status.FAILED)
        unknown = factory.Trait(status=Status.UNKNOWN)
        cancelled = factory.Trait(status=Status.CANCELLED)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # created_at and updated_at are auto_now(_add): a save overwrites them, so a
        # back-dated job gets them with an UPDATE once it exists.
        dated = {name: kwargs.pop(name) for name in ("created_at", "updated_at") if name in kwargs}
        job = super()._create(model_class, *args, **kwargs)
        if dated:
            model_class.objects.filter(pk=job.pk).update(**dated)
            job.refresh_from_db()
        return job


class ProviderAnswerFactory(factory.django.DjangoModelFactory):
    """A kept answer: one base64 image by default (``items`` as the provider sent them)."""

    class Meta:
        model = ProviderAnswer

    job = factory.SubFactory(GenerationJobFactory, running=True)
    items = factory.LazyFunction(lambda: [{"b64_json": "", "revised_prompt": None}])
    usage = factory.LazyFunction(dict)


class ImageFactory(factory.django.DjangoModelFactory):
    """An Image row only: nothing is written to storage (use gallery.services.image_store
    for an image whose bytes a test reads)."""

    class Meta:
        model = Image

    job = factory.SubFactory(GenerationJobFactory, succeeded=True)
    owner = factory.SelfAttribute("job.owner")
    index = 0
    original_key = factory.LazyAttribute(lambda i: f"originals/{i.job.id}/{i.index}.png")
    thumbnail_key = factory.LazyAttribute(lambda i: f"thumbnails/{i.job.id}/{i.index}.webp")
    width = 1024
    height = 1024
    format = "PNG"
    bytes = 1234
    sha256 = "0" * 64
