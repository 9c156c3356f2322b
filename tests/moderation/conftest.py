import io

import pytest
from PIL import Image as PILImage

from gallery.services import image_store
from tests.factories import GenerationJobFactory, UserFactory


def png(width=64, height=64):
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), (200, 60, 90)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def staff(db):
    return UserFactory(username="sam", is_staff=True, is_superuser=True)


@pytest.fixture
def make_image(s3):
    def make(owner, *, prompt="alice's lighthouse at dusk", index=0):
        return image_store(
            job=GenerationJobFactory(demo=True, owner=owner, prompt=prompt), index=index, data=png()
        )

    return make


@pytest.fixture
def alices_image(alice, make_image):
    return make_image(alice)
