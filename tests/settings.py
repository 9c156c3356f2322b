"""Test settings: production settings, configured the way operators do, by environment.

Ports for the S3 server and the fake image provider are chosen here, before the
settings are read, and passed on through the environment to the Celery worker
process the tests start, so that the web side and the worker see one configuration.
"""

import os
import socket
import uuid


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/atelier")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", f"atelier-test-{uuid.uuid4().hex[:12]}")
os.environ.setdefault("ATELIER_TEST_S3_PORT", str(_free_port()))
os.environ.setdefault("ATELIER_TEST_PROVIDER_PORT", str(_free_port()))
os.environ.setdefault("AWS_STORAGE_BUCKET_NAME", "atelier-test")
os.environ.setdefault(
    "AWS_S3_ENDPOINT_URL", f"http://127.0.0.1:{os.environ['ATELIER_TEST_S3_PORT']}"
)
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault(
    "OPENAI_BASE_URL", f"http://127.0.0.1:{os.environ['ATELIER_TEST_PROVIDER_PORT']}/v1"
)
os.environ.setdefault("OPENAI_API_KEY", "sk-test-atelier-0123456789")
os.environ.setdefault(
    "ATELIER_OPENAI_MODELS", "dall-e-2,dall-e-3,gpt-image-1.5,gpt-image-1-mini,gpt-image-2"
)
# The fake provider serves its image links from loopback, which downloads refuse unless a
# connection lists it; only 127.0.0.1, so a redirect to another loopback address is refused.
os.environ.setdefault("ATELIER_OPENAI_ALLOWED_NETWORKS", "127.0.0.1/32")
os.environ.setdefault("ATELIER_PROVIDER_TIMEOUT", "20")
os.environ.setdefault("ATELIER_DOWNLOAD_TIMEOUT", "10")
os.environ.setdefault("ATELIER_DATA_DIR", f"/tmp/atelier-tests-{os.getpid()}")

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = False
SECURE_HSTS_SECONDS = 0
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = True
