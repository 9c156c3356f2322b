"""Storage backends that never hand out a permanent public link.

Both backends answer ``url(key)`` with a short-lived signed link, so the rest
of the code asks the configured storage for a URL and never branches on which
backend is active.
"""

import threading
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.files.storage import FileSystemStorage
from django.urls import reverse
from storages.backends.s3 import S3Storage
from storages.utils import ReadBytesWrapper, clean_name

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
    Signing is local (no request is sent), so one client for that endpoint, built
    on first use and shared by every thread, signs every link: a gallery page signs
    about a hundred, and building a boto3 client costs ~14 ms.
    """

    def __init__(self, *, public_endpoint_url=None, **options):
        self.public_endpoint_url = public_endpoint_url
        self._public_client = None
        self._public_client_lock = threading.Lock()
        super().__init__(**options)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_public_client", None)
        state.pop("_public_client_lock", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._public_client = None
        self._public_client_lock = threading.Lock()

    @property
    def public_client(self):
        """The one client that signs links for the public endpoint (boto3 clients are
        thread-safe; resources are not, hence a client rather than ``connection``)."""
        if self._public_client is None:
            with self._public_client_lock:
                if self._public_client is None:
                    self._public_client = self._create_session().client(
                        "s3",
                        region_name=self.region_name,
                        use_ssl=self.use_ssl,
                        endpoint_url=self.public_endpoint_url,
                        config=self.client_config,
                        verify=self.verify,
                    )
        return self._public_client

    @property
    def _client(self):
        # The resource's client: ``bucket.Object(key)`` builds a resource object from its
        # JSON definition on every call (~4 ms of CPU), the client call is the request alone.
        return self.connection.meta.client

    def delete(self, name):
        from botocore.exceptions import ClientError

        try:
            self._client.delete_object(
                Bucket=self.bucket_name, Key=self._normalize_name(clean_name(name))
            )
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] != 404:
                raise

    def _save(self, name, content):
        # An image is one request: S3Transfer's machinery (a HEAD-free upload, but futures,
        # callbacks and a thread pool) costs more than the PUT for bodies this small.
        size = getattr(content, "size", None)
        if self.gzip or size is None or size > self.transfer_config.multipart_threshold:
            return super()._save(name, content)
        cleaned_name = clean_name(name)
        key = self._normalize_name(cleaned_name)
        params = self._get_write_parameters(key, content)
        content.seek(0)
        self._client.put_object(
            Bucket=self.bucket_name, Key=key, Body=ReadBytesWrapper(content).read(), **params
        )
        return cleaned_name

    def read_bytes(self, name) -> bytes:
        """The object's body in one GET (``open`` sends a HEAD, then a HEAD and a GET)."""
        from botocore.exceptions import ClientError

        try:
            reply = self._client.get_object(
                Bucket=self.bucket_name, Key=self._normalize_name(clean_name(name))
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise FileNotFoundError(f"File does not exist: {name}") from None
            raise
        return reply["Body"].read()

    def url(self, name, parameters=None, expire=None, http_method=None):
        if not self.public_endpoint_url:
            return super().url(name, parameters, expire, http_method)
        params = dict(parameters or {})
        params["Bucket"] = self.bucket_name
        params["Key"] = self._normalize_name(clean_name(name))
        return self.public_client.generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.querystring_expire if expire is None else expire,
            HttpMethod=http_method,
        )


def storage_read(storage, name) -> bytes:
    """A whole object's bytes, by the cheapest way the backend has."""
    if hasattr(storage, "read_bytes"):
        return storage.read_bytes(name)
    with storage.open(name, "rb") as handle:
        return handle.read()
