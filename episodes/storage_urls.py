"""URLs that hand a stored file straight to a client in S3 mode: the CDN in front of the bucket, or presigned.

    url = media_redirect_url("renditions/episodes/12/run/audio.mp3", content_type="audio/mpeg")

The only module that talks to boto3 for URLs; presigning is local computation (no request to S3).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage

PRESIGNED_SECONDS = 3600


def _bucket_key(storage: Any, key: str) -> str:
    """The object key in the bucket (django-storages prepends its ``location``)."""
    normalize = getattr(storage, "_normalize_name", None)
    clean = key.lstrip("/")
    return str(normalize(clean)) if callable(normalize) else clean


def presigned_get_url(
    key: str,
    *,
    expires: int = PRESIGNED_SECONDS,
    content_type: str | None = None,
    content_disposition: str | None = None,
) -> str:
    """A time-limited GET URL for ``key`` from the S3 storage backend's own boto3 client (S3 answers with the
    given Content-Type and Content-Disposition)."""
    storage: Any = default_storage
    client = storage.connection.meta.client
    params: dict[str, str] = {"Bucket": storage.bucket_name, "Key": _bucket_key(storage, key)}
    if content_type:
        params["ResponseContentType"] = content_type
    if content_disposition:
        params["ResponseContentDisposition"] = content_disposition
    url: str = client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)
    return url


def media_redirect_url(key: str, *, content_type: str | None = None, content_disposition: str | None = None) -> str:
    """Where to send a client for ``key``: S3_PUBLIC_BASE_URL when a CDN fronts the bucket (which serves the object's
    own headers), else presigned."""
    base = settings.S3_PUBLIC_BASE_URL
    if base:
        return f"{base}/{quote(_bucket_key(default_storage, key))}"
    return presigned_get_url(key, content_type=content_type, content_disposition=content_disposition)
