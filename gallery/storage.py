"""Storage backends that never hand out a permanent public link.

Both backends answer ``url(key)`` with a short-lived signed link, so the rest
of the code asks the configured storage for a URL and never branches on which
backend is active.
"""

from urllib.parse import urlencode

import boto3
from botocore.config import Config
from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from storages.backends.s3 import S3Storage

MEDIA_SIGNING_SALT = "atelier.media"


class SignedFileSystemStorage(FileSystemStorage):
    """Local files served by ``gallery.views.media_file`` behind a signed, expiring token."""

    def url(self, name):
        token = signing.dumps(name, salt=MEDIA_SIGNING_SALT)
        return f"{reverse('gallery:media')}?{urlencode({'t': token})}"


def media_key_from_token(token: str) -> str:
    """The storage key a signed media token names; raises ``signing.BadSignature``."""
    return signing.loads(token, salt=MEDIA_SIGNING_SALT, max_age=settings.SIGNED_URL_MAX_AGE)


class PrivateS3Storage(S3Storage):
    """Private bucket; presigned URLs may use a browser-facing endpoint.

    Inside docker-compose the web container reaches MinIO as http://minio:9000,
    which a browser cannot resolve, so links are signed for the public endpoint.
    """

    def __init__(self, *, public_endpoint_url=None, **options):
        self.public_endpoint_url = public_endpoint_url
        super().__init__(**options)

    def url(self, name, parameters=None, expire=None, http_method=None):
        if not self.public_endpoint_url:
            return super().url(name, parameters, expire, http_method)
        client = boto3.client(
            "s3",
            endpoint_url=self.public_endpoint_url,
            region_name=self.region_name,
            aws_access_key_id=self.access_key or None,
            aws_secret_access_key=self.secret_key or None,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        return client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket_name,
                "Key": self._normalize_name(self._clean_name(name)),
            },
            ExpiresIn=expire or self.querystring_expire,
        )
