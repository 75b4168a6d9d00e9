"""Start-up checks: a half-configured S3, a missing ffmpeg or a bad limit stops the process with a clear message."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register


@register("media_hub")
def check_storage(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    present = settings.S3_SETTINGS_PRESENT
    if present and not settings.S3_BUCKET:
        errors.append(
            Error(
                f"S3 is half-configured: {', '.join(present)} set but S3_BUCKET is empty.",
                hint="Set S3_BUCKET to use S3, or unset the other S3_* variables to use local disk.",
                id="media_hub.E001",
            )
        )
    if settings.S3_BUCKET:
        missing = [
            name
            for name in ("S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
            if not getattr(settings, name) and not os.environ.get("AWS_" + name[3:])
        ]
        if len(missing) == 1:
            errors.append(
                Error(
                    f"S3 is half-configured: {missing[0]} is missing.",
                    hint="Set both S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY, or neither (instance role).",
                    id="media_hub.E002",
                )
            )
        if settings.S3_ADDRESSING_STYLE not in {"path", "virtual", "auto"}:
            errors.append(
                Error(
                    f"S3_ADDRESSING_STYLE must be path, virtual or auto, not {settings.S3_ADDRESSING_STYLE!r}.",
                    id="media_hub.E003",
                )
            )
        for name in ("S3_ENDPOINT_URL", "S3_PUBLIC_BASE_URL"):
            value = getattr(settings, name)
            if value and not value.startswith(("http://", "https://")):
                errors.append(Error(f"{name} must be an http(s) URL, not {value!r}.", id="media_hub.E004"))
    return errors


@register("media_hub")
def check_ffmpeg(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    configured = settings.FFMPEG_BINARY
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)) and not shutil.which(configured):
            return [
                Error(
                    f"FFMPEG_BINARY={configured!r} is not an executable file.",
                    hint="Unset it to use the ffmpeg bundled with imageio-ffmpeg.",
                    id="media_hub.E010",
                )
            ]
        return []
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as exc:  # noqa: BLE001 - any failure here means no ffmpeg
        return [Error(f"No ffmpeg binary found: {exc}", hint="Set FFMPEG_BINARY.", id="media_hub.E011")]
    return []


@register("media_hub")
def check_limits(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for name in (
        "MEDIA_MAX_UPLOAD_BYTES",
        "MEDIA_MAX_DURATION_SECONDS",
        "MEDIA_MAX_WIDTH",
        "MEDIA_MAX_HEIGHT",
        "MEDIA_PROBE_TIMEOUT_SECONDS",
        "MEDIA_JOB_MAX_ATTEMPTS",
        "MEDIA_JOB_LEASE_SECONDS",
    ):
        if getattr(settings, name) <= 0:
            messages.append(Error(f"{name} must be greater than 0.", id="media_hub.E020"))
    if not settings.DEBUG and settings.PUBLIC_BASE_URL.startswith("http://") and settings.DATABASE_URL:
        messages.append(
            Warning(
                "PUBLIC_BASE_URL is plain http on the production stack; podcast apps prefer https.",
                id="media_hub.W021",
            )
        )
    return messages
