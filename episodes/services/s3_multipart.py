"""S3 multipart uploads with presigned part URLs: the client sends bytes straight to the bucket.

Used only when ``settings.S3_BUCKET`` is set. ``multipart_start(key, content_type)`` → upload id;
``part_url(key, upload_id, n)`` → a URL the client PUTs part ``n`` to (the response's ETag identifies it);
``multipart_parts`` lists what S3 holds; ``multipart_complete`` / ``multipart_abort`` finish it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

PART_URL_EXPIRY_SECONDS = 3600


@dataclass(frozen=True)
class S3Part:
    number: int
    size: int
    etag: str


def s3_enabled() -> bool:
    return bool(settings.S3_BUCKET)


def _client() -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=settings.S3_ENDPOINT_URL or None,
        aws_access_key_id=settings.S3_ACCESS_KEY_ID or None,
        aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY or None,
        region_name=settings.S3_REGION,
        config=Config(signature_version="s3v4", s3={"addressing_style": settings.S3_ADDRESSING_STYLE}),
    )


def multipart_start(*, key: str, content_type: str) -> str:
    extra = {"ContentType": content_type} if content_type else {}
    response = _client().create_multipart_upload(Bucket=settings.S3_BUCKET, Key=key, **extra)
    return str(response["UploadId"])


def part_url(*, key: str, upload_id: str, number: int) -> str:
    return str(
        _client().generate_presigned_url(
            "upload_part",
            Params={"Bucket": settings.S3_BUCKET, "Key": key, "UploadId": upload_id, "PartNumber": number},
            ExpiresIn=PART_URL_EXPIRY_SECONDS,
            HttpMethod="PUT",
        )
    )


def multipart_parts(*, key: str, upload_id: str) -> list[S3Part]:
    client = _client()
    parts: list[S3Part] = []
    marker = 0
    while True:
        page = client.list_parts(Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id, PartNumberMarker=marker)
        parts += [S3Part(int(p["PartNumber"]), int(p["Size"]), str(p["ETag"])) for p in page.get("Parts", [])]
        if not page.get("IsTruncated"):
            return parts
        marker = int(page["NextPartNumberMarker"])


def multipart_complete(*, key: str, upload_id: str, parts: list[S3Part]) -> None:
    _client().complete_multipart_upload(
        Bucket=settings.S3_BUCKET,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p.number, "ETag": p.etag} for p in parts]},
    )


def multipart_abort(*, key: str, upload_id: str) -> None:
    _client().abort_multipart_upload(Bucket=settings.S3_BUCKET, Key=key, UploadId=upload_id)
