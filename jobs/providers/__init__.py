from jobs.providers.base import EditingImageProvider, ImageProvider, ProviderResult
from jobs.providers.chat_completions import ChatCompletionsProvider
from jobs.providers.demo import DemoProvider
from jobs.providers.errors import ProviderError
from jobs.providers.openai_images import OpenAIImagesProvider
from jobs.registry import Family

# Typed as what it is, so the type checker holds it to the editing interface too.
_OPENAI_IMAGES: EditingImageProvider = OpenAIImagesProvider()

_PROVIDERS: dict[Family, ImageProvider] = {
    Family.DEMO: DemoProvider(),
    Family.OPENAI_IMAGES: _OPENAI_IMAGES,
    Family.CHAT_COMPLETIONS: ChatCompletionsProvider(),
}


def provider_for(family: Family) -> ImageProvider:
    return _PROVIDERS[family]


__all__ = ["ProviderError", "ProviderResult", "provider_for"]
