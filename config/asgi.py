import os

from django.core.asgi import get_asgi_application

from config.middleware import body_limit_asgi

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = body_limit_asgi(get_asgi_application())
