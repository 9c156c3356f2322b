import os

from django.core.asgi import get_asgi_application

from config.middleware import body_limit_asgi
from openai_api.asgi import with_api

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = body_limit_asgi(with_api(get_asgi_application()))
