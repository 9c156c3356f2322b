import base64
import io

import httpx
from PIL import Image as PILImage

from gallery.models import Image
from gallery.selectors import ImageQuery, image_search
from jobs.models import GenerationJob


def test_it_generates_b64_images_that_land_in_alices_gallery(alice_sdk, alice):
    answer = alice_sdk.images.generate(model="gpt-image-2", prompt="a lighthouse at dusk", n=2)
    assert len(answer.data) == 2
    pixels = PILImage.open(io.BytesIO(base64.b64decode(answer.data[0].b64_json)))
    assert pixels.size == (1024, 1024)
    assert answer.usage is not None and answer.usage.total_tokens == 4210
    assert answer.output_format == "png" and answer.size == "1024x1024"
    job = GenerationJob.objects.get(owner=alice)
    assert job.status == GenerationJob.Status.SUCCEEDED and job.prompt == "a lighthouse at dusk"
    page = image_search(user=alice, query=ImageQuery(q="lighthouse"))
    assert len(page.images) == 2
    assert {image.prompt for image in page.images} == {"a lighthouse at dusk"}
    stored = Image.objects.get(job=job, index=0)
    assert stored.owner == alice and stored.width == 1024


def test_it_answers_with_atelier_links_that_download_the_stored_image(alice_sdk, alice):
    answer = alice_sdk.images.generate(
        model="dall-e-3", prompt="a red bicycle", response_format="url"
    )
    assert answer.data[0].revised_prompt == "A vivid rendering of: a red bicycle"
    url = answer.data[0].url
    assert url.startswith(str(alice_sdk.base_url).removesuffix("v1/"))
    download = httpx.get(url, follow_redirects=True)
    assert download.status_code == 200
    assert download.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert image_search(user=alice, query=ImageQuery(q="bicycle")).images
