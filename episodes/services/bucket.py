"""The media bucket an operator sets up once: it exists, it is writable, abandoned multipart uploads expire, and
the studio's pages may upload parts to it from the browser (CORS).

    report = storage_bucket_ensure(create=True)   # what ``manage.py setup_storage`` prints

AWS S3 does not create a bucket on first write (SeaweedFS does), and a multipart upload that is never completed
or aborted keeps its parts (billed, invisible in listings) until a lifecycle rule aborts it.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

from django.conf import settings

from .s3_multipart import _client

RULE_ID = "media-hub-abort-incomplete-multipart-uploads"
CORS_ID = "media-hub-studio-uploads"


class BucketProblem(Exception):
    """The bucket is missing, unreachable or not writable (what an operator must fix)."""


def abort_after_days() -> int:
    """Days after which S3 aborts an unfinished multipart upload: a day past the app's own upload expiry."""
    return max(1, math.ceil(settings.UPLOAD_EXPIRY_SECONDS / 86400)) + 1


def _code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _lifecycle_rules(client: Any, bucket: str) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    try:
        return list(client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", []))
    except ClientError as exc:
        if _code(exc) in {"NoSuchLifecycleConfiguration", "404", "NoSuchLifecycle"}:
            return []
        raise


def upload_origins() -> list[str]:
    """Origins whose pages PUT upload parts straight to the bucket: the studio's (PUBLIC_BASE_URL) and any extra
    ``S3_UPLOAD_ORIGINS`` (an admin served on another host name)."""
    from urllib.parse import urlsplit

    origins = []
    for url in [settings.PUBLIC_BASE_URL, *settings.S3_UPLOAD_ORIGINS]:
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    return sorted(set(origins))


def cors_rule() -> dict[str, Any]:
    """What the studio's pages need from the bucket: send presigned part PUTs and read each part's ETag, and read
    a draft's waveform JSON and HLS playlists and segments by script (fetch/hls.js follow the web's redirect)."""
    return {"ID": CORS_ID, "AllowedOrigins": upload_origins(), "AllowedMethods": ["GET", "HEAD", "PUT"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 3600}  # fmt: skip


def _cors_rules(client: Any, bucket: str) -> list[dict[str, Any]]:
    from botocore.exceptions import ClientError

    try:
        return list(client.get_bucket_cors(Bucket=bucket).get("CORSRules", []))
    except ClientError as exc:
        if _code(exc) in {"NoSuchCORSConfiguration", "404"}:
            return []
        raise


def _ensure_cors(client: Any, bucket: str, *, create: bool) -> str:
    wanted = cors_rule()
    rules = _cors_rules(client, bucket)
    ours = next((r for r in rules if r.get("ID") == CORS_ID), None)
    covers = ours is not None and set(wanted["AllowedOrigins"]) <= set(ours.get("AllowedOrigins", [])) and "ETag" in (
        ours.get("ExposeHeaders") or []) and {"GET", "PUT"} <= set(ours.get("AllowedMethods", []))  # fmt: skip
    origins = ", ".join(wanted["AllowedOrigins"])
    if covers:
        return f"cors: browsers at {origins} may upload parts (rule present)"
    if not create:
        raise BucketProblem(f"cors: browsers at {origins} cannot upload parts to the bucket (run without --check)")
    kept = [r for r in rules if r.get("ID") != CORS_ID]
    client.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [*kept, wanted]})
    return f"cors: browsers at {origins} may upload parts (rule set)"


def storage_bucket_ensure(*, create: bool) -> list[str]:
    """Check (and with ``create``, fix) the bucket and its lifecycle rule; raises BucketProblem, else reports."""
    from botocore.exceptions import BotoCoreError, ClientError

    bucket = settings.S3_BUCKET
    if not bucket:
        settings.MEDIA_ROOT.mkdir(parents=True, exist_ok=True)
        return [f"media on local disk at {settings.MEDIA_ROOT} (S3_BUCKET is not set)"]
    client = _client()
    report: list[str] = []
    try:
        try:
            client.head_bucket(Bucket=bucket)
            report.append(f"bucket {bucket}: exists")
        except ClientError as exc:
            if _code(exc) not in {"404", "NoSuchBucket", "NotFound"}:
                raise BucketProblem(f"bucket {bucket}: cannot be reached with these credentials ({exc})") from exc
            if not create:
                raise BucketProblem(f"bucket {bucket}: missing (run without --check to create it)") from exc
            extra = {}
            if settings.S3_REGION and settings.S3_REGION != "us-east-1" and not settings.S3_ENDPOINT_URL:
                extra = {"CreateBucketConfiguration": {"LocationConstraint": settings.S3_REGION}}
            client.create_bucket(Bucket=bucket, **extra)
            report.append(f"bucket {bucket}: created")

        days = abort_after_days()
        rules = _lifecycle_rules(client, bucket)
        ours = [r for r in rules if r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation")]
        if any(r.get("Status") == "Enabled" and r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] <= days
               for r in ours):  # fmt: skip
            report.append("lifecycle: unfinished multipart uploads are aborted (rule present)")
        elif not create:
            raise BucketProblem("lifecycle: no rule aborts unfinished multipart uploads (run without --check)")
        else:
            # Keep every other rule the bucket has; replace only ours.
            kept = [r for r in rules if r.get("ID") != RULE_ID]
            rule = {"ID": RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}}  # fmt: skip
            client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, rule]})
            report.append(f"lifecycle: unfinished multipart uploads are aborted after {days} days (rule set)")

        report.append(_ensure_cors(client, bucket, create=create))

        probe = f"health/probe-{uuid.uuid4().hex}"
        client.put_object(Bucket=bucket, Key=probe, Body=b"ok")
        client.delete_object(Bucket=bucket, Key=probe)
        report.append(f"bucket {bucket}: writable")
    except (ClientError, BotoCoreError) as exc:
        raise BucketProblem(f"bucket {bucket}: {exc}") from exc
    return report
