"""Resumable uploads: a session, fixed-size parts sent in any order (and again), then one completion.

With S3 (``settings.S3_BUCKET``) the client PUTs each part to a presigned URL and the bytes never pass through
the app. With local storage the app receives parts itself (``upload_receive_part``), streaming each to a part
file in 1 MiB chunks; completion streams the parts, in order, into storage. No step holds a whole part, let
alone the whole file, in memory.

    session = upload_start(user=u, owner=episode, filename="ep.wav", byte_size=n)
    upload_receive_part(session=session, number=1, stream=request, length=..., sha256_hex=...)
    upload_complete(session=session)   # → MediaSource + queued processing
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from episodes.models import Episode, UploadPart, UploadSession, Video

from . import s3_multipart
from .errors import Conflict, DomainError, InvalidInput, PayloadTooLarge
from .uploads import EMPTY_FILE, media_source_register, safe_filename, source_key_for

log = logging.getLogger(__name__)
CHUNK = 1024 * 1024
S3_MAX_PARTS = 10_000
DEFAULT_PART_BYTES = 16 * 1024 * 1024
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
State = UploadSession.State


class UploadGone(DomainError):
    status = 410
    code = "upload_gone"


class LengthRequired(DomainError):
    status = 411
    code = "length_required"


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


def parts_dir(session: UploadSession) -> Path:
    return Path(settings.MEDIA_WORK_DIR) / "uploads" / str(session.pk)


def _too_large(size: int) -> PayloadTooLarge:
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    return PayloadTooLarge(
        f"The file is {size} bytes; the limit is {limit} bytes.", fields={"byte_size": [f"At most {limit} bytes."]}
    )


def _choose_part_size(byte_size: int, part_size: int | None) -> int:
    low, high = settings.UPLOAD_PART_MIN_BYTES, settings.UPLOAD_PART_MAX_BYTES
    if part_size is None:
        part_size = max(low, min(high, DEFAULT_PART_BYTES), -(-byte_size // S3_MAX_PARTS))
        return min(part_size, byte_size) if byte_size <= part_size else part_size
    if part_size > high:
        raise PayloadTooLarge(f"part_size: At most {high} bytes.", fields={"part_size": [f"At most {high} bytes."]})
    if part_size < low and part_size < byte_size:
        raise InvalidInput(f"part_size: At least {low} bytes.", fields={"part_size": [f"At least {low} bytes."]})
    if -(-byte_size // part_size) > S3_MAX_PARTS:
        raise InvalidInput("part_size: Too many parts; use bigger parts.", fields={"part_size": ["Too small."]})
    return part_size


def upload_start(
    *,
    user: Any,
    owner: Episode | Video,
    filename: str,
    byte_size: int,
    part_size: int | None = None,
    sha256: str = "",
    content_type: str = "",
) -> UploadSession:
    """Open an upload session; the size limit is enforced here, before a single byte is sent."""
    if byte_size <= 0:
        message = EMPTY_FILE if byte_size == 0 else "The size must be the file's length in bytes."
        raise InvalidInput(message, fields={"byte_size": [message]})
    if byte_size > settings.MEDIA_MAX_UPLOAD_BYTES:
        raise _too_large(byte_size)
    sha256 = sha256.strip().lower()
    if sha256 and not SHA256_RE.match(sha256):
        raise InvalidInput("sha256: Give 64 hex digits.", fields={"sha256": ["Give 64 hex digits."]})
    chosen = _choose_part_size(byte_size, part_size)
    name = safe_filename(filename)
    session = UploadSession(
        id=uuid.uuid4(),
        user=user,
        episode=owner if isinstance(owner, Episode) else None,
        video=owner if isinstance(owner, Video) else None,
        backend=UploadSession.Backend.S3 if s3_multipart.s3_enabled() else UploadSession.Backend.LOCAL,
        filename=name,
        content_type=content_type[:100],
        byte_size=byte_size,
        part_size=chosen,
        sha256=sha256,
        storage_key=source_key_for(owner, name),
        expires_at=timezone.now() + timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS),
    )
    if session.backend == UploadSession.Backend.S3:
        session.s3_upload_id = s3_multipart.multipart_start(key=session.storage_key, content_type=content_type)
    session.save(force_insert=True)
    return session


def _require_open(session: UploadSession) -> None:
    if session.state == State.OPEN and session.expires_at <= timezone.now():
        raise UploadGone("This upload has expired; start a new one.")
    if session.state in {State.ABORTED, State.EXPIRED}:
        raise UploadGone(f"This upload was {session.state}; start a new one.")
    if session.state != State.OPEN:
        raise Conflict(f"This upload is {session.state}; it takes no more parts.", code="upload_closed")


def _check_part_number(session: UploadSession, number: int) -> None:
    if not 1 <= number <= session.part_count:
        message = f"Part numbers run from 1 to {session.part_count}."
        raise InvalidInput(f"number: {message}", fields={"number": [message]})


def _expected_checksums(md5_b64: str | None, sha256_hex: str | None) -> tuple[bytes | None, str | None]:
    md5: bytes | None = None
    if md5_b64:
        try:
            md5 = base64.b64decode(md5_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            md5 = None
        if md5 is None or len(md5) != 16:
            raise InvalidInput("Content-MD5: Give the base64 MD5 of the part.", fields={"Content-MD5": ["Invalid."]})
    sha = (sha256_hex or "").strip().lower() or None
    if sha is not None and not SHA256_RE.match(sha):
        raise InvalidInput("X-Content-SHA256: Give 64 hex digits.", fields={"X-Content-SHA256": ["Invalid."]})
    if md5 is None and sha is None:
        message = "Send the part's checksum: Content-MD5 (base64) or X-Content-SHA256 (hex)."
        raise InvalidInput(message, fields={"Content-MD5": [message]})
    return md5, sha


def upload_receive_part(
    *,
    session: UploadSession,
    number: int,
    stream: Readable,
    length: int | None,
    md5_b64: str | None = None,
    sha256_hex: str | None = None,
) -> UploadPart:
    """Store part ``number`` (local backend), replacing an earlier copy; sizes are checked before reading."""
    _require_open(session)
    if session.backend != UploadSession.Backend.LOCAL:
        raise Conflict("Send parts straight to S3 with the presigned part URLs.", code="wrong_backend")
    _check_part_number(session, number)
    if length is None:
        raise LengthRequired("Send the part with a Content-Length header.")
    if length > settings.UPLOAD_PART_MAX_BYTES:
        raise PayloadTooLarge(f"A part may be at most {settings.UPLOAD_PART_MAX_BYTES} bytes.")
    expected = session.expected_part_size(number)
    if length != expected:
        error_cls = PayloadTooLarge if length > expected else InvalidInput
        raise error_cls(f"Part {number} must be exactly {expected} bytes, not {length}.")
    want_md5, want_sha = _expected_checksums(md5_b64, sha256_hex)
    folder = parts_dir(session)
    folder.mkdir(parents=True, exist_ok=True)
    temp = folder / f"part-{number:05d}.{uuid.uuid4().hex[:8]}.tmp"
    md5, sha = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    received = 0
    try:
        with temp.open("wb") as out:
            while received < length:
                chunk = stream.read(min(CHUNK, length - received))
                if not chunk:
                    break
                out.write(chunk)
                md5.update(chunk)
                sha.update(chunk)
                received += len(chunk)
        if received != length:
            raise DomainError(
                f"Part {number} arrived incomplete ({received} of {length} bytes); send it again.",
                code="incomplete_part",
            )
        md5_bad = want_md5 is not None and md5.digest() != want_md5
        if md5_bad or (want_sha is not None and sha.hexdigest() != want_sha):
            raise DomainError(f"Part {number} does not match its checksum; send it again.", code="checksum_mismatch")
        with transaction.atomic():
            locked = UploadSession.objects.select_for_update().get(pk=session.pk)
            _require_open(locked)
            temp.replace(folder / f"part-{number:05d}")
            part, _ = UploadPart.objects.update_or_create(
                session=locked,
                number=number,
                defaults={"byte_size": received, "md5": md5.hexdigest(), "sha256": sha.hexdigest(), "etag": ""},
            )
            # Activity keeps an upload alive: only uploads nobody touches for the expiry period are abandoned.
            UploadSession.objects.filter(pk=session.pk).update(
                expires_at=timezone.now() + timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS)
            )
    finally:
        temp.unlink(missing_ok=True)
    return part


def upload_parts(session: UploadSession) -> list[UploadPart]:
    """The parts stored so far (for S3, as S3 reports them, recorded locally)."""
    if session.backend == UploadSession.Backend.S3 and session.state == State.OPEN:
        reported = s3_multipart.multipart_parts(key=session.storage_key, upload_id=session.s3_upload_id)
        with transaction.atomic():
            UploadPart.objects.filter(session=session).delete()
            UploadPart.objects.bulk_create(
                UploadPart(session=session, number=p.number, byte_size=p.size, etag=p.etag) for p in reported
            )
    return list(UploadPart.objects.filter(session=session).order_by("number"))


def upload_part_urls(session: UploadSession, numbers: list[int]) -> dict[int, str]:
    """Presigned PUT URLs (S3 backend) for the given part numbers."""
    if session.backend != UploadSession.Backend.S3 or session.state != State.OPEN:
        return {}
    return {
        n: s3_multipart.part_url(key=session.storage_key, upload_id=session.s3_upload_id, number=n) for n in numbers
    }


def _missing_or_wrong(session: UploadSession, parts: list[UploadPart]) -> list[str]:
    by_number = {p.number: p for p in parts}
    problems = []
    for n in range(1, session.part_count + 1):
        part = by_number.get(n)
        if part is None:
            problems.append(f"Part {n} is missing.")
        elif part.byte_size != session.expected_part_size(n):
            problems.append(f"Part {n} has {part.byte_size} bytes, not {session.expected_part_size(n)}.")
    return problems


class _PartsReader(io.RawIOBase):
    """The local part files read back to back as one stream, hashing what passes through."""

    def __init__(self, paths: list[Path]) -> None:
        self._paths: Iterator[Path] = iter(paths)
        self._current: io.BufferedReader | None = None
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self._current is None:
                path = next(self._paths, None)
                if path is None:
                    return 0
                self._current = path.open("rb")
            count = self._current.readinto(buffer)
            if count:
                self.sha256.update(memoryview(buffer)[:count])
                return count
            self._current.close()
            self._current = None

    def close(self) -> None:
        if self._current is not None:
            self._current.close()
        super().close()


def _assemble_local(session: UploadSession) -> str:
    folder = parts_dir(session)
    paths = [folder / f"part-{n:05d}" for n in range(1, session.part_count + 1)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise Conflict(f"Parts are missing on disk: {', '.join(missing)}; send them again.", code="parts_missing")
    reader = _PartsReader(paths)
    with io.BufferedReader(reader, buffer_size=CHUNK) as buffered:
        content = File(buffered, name=session.filename)
        content.size = session.byte_size
        saved = default_storage.save(session.storage_key, content)
    if saved != session.storage_key:
        default_storage.delete(saved)
        raise Conflict("The storage key is taken; start a new upload.")
    return reader.sha256.hexdigest()


def upload_complete(*, session: UploadSession, sha256: str = "") -> UploadSession:
    """Check every part, assemble the file in storage, record the source and queue processing (idempotent)."""
    if session.state == State.COMPLETED:
        return session
    _require_open(session)
    expected_sha = (sha256 or session.sha256).strip().lower()
    if expected_sha and not SHA256_RE.match(expected_sha):
        raise InvalidInput("sha256: Give 64 hex digits.", fields={"sha256": ["Give 64 hex digits."]})
    problems = _missing_or_wrong(session, upload_parts(session))
    if problems:
        raise Conflict(" ".join(problems[:20]), code="parts_missing", fields={"parts": problems[:100]})
    # Claim the completion without holding a lock while gigabytes are copied.
    if not UploadSession.objects.filter(pk=session.pk, state=State.OPEN).update(state=State.COMPLETING):
        raise Conflict("This upload is already being completed.", code="upload_closed")
    try:
        if session.backend == UploadSession.Backend.S3:
            reported = s3_multipart.multipart_parts(key=session.storage_key, upload_id=session.s3_upload_id)
            s3_multipart.multipart_complete(key=session.storage_key, upload_id=session.s3_upload_id, parts=reported)
            # The bytes never pass through the app, so a whole-file SHA-256 is recorded, not verified, here.
            actual_sha = expected_sha
        else:
            actual_sha = _assemble_local(session)
            if expected_sha and actual_sha != expected_sha:
                default_storage.delete(session.storage_key)
                raise DomainError(
                    "The assembled file does not match the SHA-256 given; check the file and upload it again.",
                    code="checksum_mismatch",
                    fields={"sha256": [f"The parts add up to {actual_sha}."]},
                )
        owner: Episode | Video = session.episode or session.video  # type: ignore[assignment]
        source = media_source_register(
            owner=owner,
            storage_key=session.storage_key,
            filename=session.filename,
            byte_size=session.byte_size,
            sha256=actual_sha,
            content_type=session.content_type,
        )
    except BaseException:
        UploadSession.objects.filter(pk=session.pk, state=State.COMPLETING).update(state=State.OPEN)
        raise
    UploadSession.objects.filter(pk=session.pk).update(
        state=State.COMPLETED, source=source, completed_at=timezone.now()
    )
    shutil.rmtree(parts_dir(session), ignore_errors=True)
    session.refresh_from_db()
    return session


def _discard(session: UploadSession, state: str) -> None:
    if session.backend == UploadSession.Backend.S3 and session.s3_upload_id:
        try:
            s3_multipart.multipart_abort(key=session.storage_key, upload_id=session.s3_upload_id)
        except Exception:  # noqa: BLE001 - S3 may have forgotten it already; the row is closed regardless
            log.warning("could not abort S3 upload %s", session.pk, exc_info=True)
    shutil.rmtree(parts_dir(session), ignore_errors=True)
    if session.state == State.COMPLETING and session.source_id is None:
        # A completion that died half-way may have left a partial file.
        default_storage.delete(session.storage_key)
    UploadSession.objects.filter(pk=session.pk).update(state=state)
    UploadPart.objects.filter(session=session).delete()


def upload_abort(*, session: UploadSession) -> None:
    """Give up an upload: stored parts are deleted (for S3, the multipart upload is aborted)."""
    if session.state == State.COMPLETED:
        raise Conflict("This upload is complete; delete the media instead.", code="upload_closed")
    if session.state == State.COMPLETING:
        raise Conflict("This upload is being completed.", code="upload_closed")
    _discard(session, State.ABORTED)


def uploads_expire(*, now: datetime | None = None) -> int:
    """Discard uploads nobody has touched for ``UPLOAD_EXPIRY_SECONDS``; returns how many."""
    now = now or timezone.now()
    stuck_before = now - timedelta(seconds=settings.UPLOAD_EXPIRY_SECONDS)
    stale = UploadSession.objects.filter(state=State.OPEN, expires_at__lt=now) | UploadSession.objects.filter(
        state=State.COMPLETING, expires_at__lt=stuck_before
    )
    count = 0
    for session in list(stale):
        _discard(session, State.EXPIRED)
        count += 1
    return count
