"""Import a show from its RSS feed: channel and items first (fast, in one task), enclosures after (one task each).

    job = import_create(url="https://old-host.example/feed.xml")          # the row, then the task (outbox)
    import_run(job_id=job.pk)            # fetch (304-aware), parse, create/update the show, one row per new item
    import_item_download(item_id=…)      # stream the enclosure to storage, checksum, hand it to the pipeline
    imports_sweep()                      # beat: resend what is due, publish processed items at their pubDate

Re-running an import of the same feed creates only items whose GUID the show does not have (idempotent). Each
item succeeds or fails alone, with its reason on its row. An imported episode is published, at its original
pubDate, once the pipeline has made its renditions, so the feed keeps the old order.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from episodes.html import html_to_text
from episodes.models import Episode, EpisodePerson, Person, Show, ShowPerson, Status
from episodes.services.common import validate_and_save
from episodes.services.content import episode_publish, show_create
from episodes.services.errors import DomainError, InvalidInput
from episodes.services.transcripts import transcript_attach
from episodes.services.uploads import media_source_register, safe_filename, source_key_for
from episodes.validators import validate_chapters
from imports.fetch import CHUNK, FetchError, fetch, open_stream
from imports.models import ImportItem, ImportJob
from imports.parse import FeedParseError, ParsedChannel, ParsedItem, parse_feed

log = logging.getLogger(__name__)
RUN_LEASE = timedelta(minutes=30)
ARTWORK_MAX_BYTES = 10 * 1024 * 1024
SIDECAR_MAX_BYTES = 5 * 1024 * 1024
TRANSCRIPT_FORMATS = {"text/vtt": "vtt", "application/x-subrip": "srt", "application/srt": "srt", "text/srt": "srt"}
RESEND_AFTER = timedelta(minutes=5)


def import_create(*, url: str = "", document: bytes = b"", show: Show | None = None) -> ImportJob:
    """Record an import (of a URL, or of an uploaded document) and queue it once the row is committed."""
    if bool(url) == bool(document):
        raise InvalidInput("Give either a feed URL or a feed document.", fields={"url": ["One of url or document."]})
    if document and len(document) > settings.IMPORT_MAX_FEED_BYTES:
        raise InvalidInput("The document is too large.", fields={"document": ["Too large."]})
    if url and not re.match(r"^https?://", url, re.IGNORECASE):
        raise InvalidInput("Only http(s) feed URLs can be imported.", fields={"url": ["Must be http(s)."]})
    job = ImportJob.objects.create(source_url=url, document=document, show=show)
    _send_on_commit("imports.run", job.pk)
    return job


def _send_on_commit(task: str, pk: int) -> None:
    from imports import tasks

    target = tasks.run if task == "imports.run" else tasks.download

    def send() -> None:
        try:
            target.delay(pk)
        except Exception:  # noqa: BLE001 - the row is the outbox: the sweep sends it again
            log.warning("could not queue %s %s; the sweep will", task, pk, exc_info=True)

    transaction.on_commit(send)


def _slug_for(title: str) -> str:
    base = slugify(title, allow_unicode=True)[:90].strip("-") or "imported-show"
    slug, n = base, 2
    while Show.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _channel_fields(channel: ParsedChannel) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "language": channel.language or "en", "explicit": channel.explicit, "author": channel.author[:255],
        "owner_name": channel.owner_name[:255], "owner_email": channel.owner_email[:254],
        "copyright": channel.copyright[:255], "show_type": channel.show_type,
        "funding": channel.funding[:20], "categories": ["/".join(c) for c in channel.categories],
    }  # fmt: skip
    if channel.link.startswith(("http://", "https://")):
        fields["website_url"] = channel.link[:200]
    return fields


def _show_for(job: ImportJob, channel: ParsedChannel) -> Show:
    description = html_to_text(channel.description)[:4000] or channel.title
    fields = _channel_fields(channel)
    if job.show is not None:
        show = job.show
        for name, value in {"title": channel.title[:255] or show.title, "description": description, **fields}.items():
            setattr(show, name, value)
        try:
            validate_and_save(show)
        except DomainError:
            show.refresh_from_db()  # keep what the producer has; the items still import
        return show
    try:
        show = show_create(title=channel.title[:255] or "Imported show", slug=_slug_for(channel.title),
                           description=description, **fields)  # fmt: skip
    except DomainError:
        fields.pop("categories")  # categories Apple does not list: the producer picks them after the import
        show = show_create(title=channel.title[:255] or "Imported show", slug=_slug_for(channel.title),
                           description=description, **fields)  # fmt: skip
    job.show = show
    job.save(update_fields=["show", "updated_at"])
    for position, person in enumerate(channel.persons[:20]):
        who, _ = Person.objects.get_or_create(name=person["name"][:128], href=person["href"][:200],
                                              defaults={"img": person["img"][:200]})  # fmt: skip
        ShowPerson.objects.get_or_create(show=show, person=who, role=person["role"][:64],
                                         defaults={"group": person["group"][:64], "position": position})  # fmt: skip
    if channel.image_url and not show.artwork:
        _artwork(job, show, channel.image_url)
    return show


def _artwork(job: ImportJob, show: Show, url: str) -> None:
    """Take the show's artwork if it is one Apple accepts; otherwise say why on the job and go on."""
    try:
        image = fetch(url, max_bytes=ARTWORK_MAX_BYTES).body
        name = safe_filename(Path(url.split("?", 1)[0]).name or "cover.jpg")
        show.artwork.save(name, ContentFile(image), save=False)
        validate_and_save(show)
    except (FetchError, DomainError, OSError) as exc:
        show.artwork = None
        job.warnings = [*job.warnings, f"Artwork not taken: {exc}"[:500]]
        job.save(update_fields=["warnings", "updated_at"])


def import_run(*, job_id: int) -> ImportJob | None:
    """Fetch and parse the feed, update the show, and record each new item (its download queued)."""
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.PENDING).update(
        state=ImportJob.State.RUNNING, sent_at=now
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("show").get(pk=job_id)
    try:
        _run(job)
    except (FetchError, FeedParseError, DomainError) as exc:
        job.state, job.error = ImportJob.State.FAILED, str(exc)[:1000]
        job.save(update_fields=["state", "error", "updated_at"])
        return job
    job.state = ImportJob.State.DONE
    job.save(update_fields=["state", "items_seen", "items_new", "etag", "last_modified", "updated_at"])
    return job


def _run(job: ImportJob) -> None:
    document = bytes(job.document)
    if job.source_url:
        previous = (ImportJob.objects.filter(source_url=job.source_url, state=ImportJob.State.DONE)
                    .exclude(pk=job.pk).exclude(etag="", last_modified="").first())  # fmt: skip
        result = fetch(job.source_url, max_bytes=settings.IMPORT_MAX_FEED_BYTES,
                       etag=previous.etag if previous else "",
                       last_modified=previous.last_modified if previous else "")  # fmt: skip
        job.etag, job.last_modified = result.headers.get("etag", ""), result.headers.get("last-modified", "")
        if result.status == 304:
            return  # nothing changed since the last import of this URL
        document = result.body
    feed = parse_feed(document)
    show = _show_for(job, feed.channel)
    job.items_seen = len(feed.items)
    known = set(Episode.objects.filter(guid__in=[i.guid for i in feed.items]).values_list("guid", flat=True))
    known |= set(ImportItem.objects.filter(show=show).values_list("guid", flat=True))
    for item in reversed(feed.items):  # oldest first, so ids follow the original order
        if item.guid in known:
            continue
        known.add(item.guid)
        job.items_new += 1
        _item_create(job, show, item)


def _item_create(job: ImportJob, show: Show, item: ParsedItem) -> None:
    """One item: its episode and its row; a bad item is recorded as failed with its reason, the rest go on."""
    row = ImportItem(job=job, show=show, guid=item.guid[:255], title=item.title[:255],
                     enclosure_url=item.enclosure_url[:2000], original_publish_at=item.pub_date,
                     extras={"chapters_url": item.chapters_url, "transcripts": item.transcripts[:10]})  # fmt: skip
    try:
        if not item.guid or len(item.guid) > 255:
            raise InvalidInput("The item has no usable GUID (empty or over 255 characters).")
        if not item.enclosure_url:
            raise InvalidInput("The item has no enclosure.")
        if item.pub_date is None:
            raise InvalidInput("The item has no readable pubDate.")
        with transaction.atomic():
            row.episode = _episode_create(show, item)
            row.save()
        _send_on_commit("imports.download", row.pk)
    except DomainError as exc:
        row.episode, row.state, row.error = None, ImportItem.State.FAILED, str(exc)[:1000]
        row.save()


def _episode_create(show: Show, item: ParsedItem) -> Episode:
    base = slugify(item.title, allow_unicode=True)[:100].strip("-") or "episode"
    slug, n = base, 2
    while Episode.objects.filter(show=show, slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    chapters = item.inline_chapters if _ordered(item.inline_chapters) else []
    episode = Episode(
        show=show, title=item.title[:255] or item.guid[:255], slug=slug, guid=item.guid,  # byte for byte
        summary=html_to_text(item.summary or item.notes_html)[:4000], show_notes=item.notes_html,
        season=item.season, number=item.number, episode_type=item.episode_type, explicit=item.explicit,
        chapters=chapters,
    )  # fmt: skip
    validate_and_save(episode)
    for position, person in enumerate(item.persons[:20]):
        who, _ = Person.objects.get_or_create(name=person["name"][:128], href=person["href"][:200],
                                              defaults={"img": person["img"][:200]})  # fmt: skip
        EpisodePerson.objects.get_or_create(episode=episode, person=who, role=person["role"][:64],
                                            defaults={"group": person["group"][:64], "position": position})  # fmt: skip
    return episode


def _ordered(chapters: list[dict[str, Any]]) -> bool:
    starts = [c["start"] for c in chapters]
    return starts == sorted(starts) and all(c["title"] for c in chapters)


# --- enclosures -------------------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _work_file(item: ImportItem) -> Path:
    folder = Path(settings.MEDIA_WORK_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"item-{item.pk}.part"


def import_item_download(*, item_id: int) -> ImportItem | None:
    """Download one enclosure (resuming a partial file with Range), then hand it to the processing pipeline."""
    now = timezone.now()
    claimed = ImportItem.objects.filter(pk=item_id, state=ImportItem.State.PENDING, episode__isnull=False).update(
        state=ImportItem.State.DOWNLOADING, running_until=now + RUN_LEASE, attempts=F("attempts") + 1
    )
    if not claimed:
        return None
    item = ImportItem.objects.select_related("episode").get(pk=item_id)
    path = _work_file(item)
    try:
        _download(item, path)
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(CHUNK), b""):
                digest.update(chunk)
        item.sha256 = digest.hexdigest()
        name = safe_filename(Path(item.enclosure_url.split("?", 1)[0]).name or "enclosure.mp3")
        episode = item.episode
        if episode is None:
            raise InvalidInput("The episode of this item was deleted.")
        with path.open("rb") as fh:
            key = default_storage.save(source_key_for(episode, name), File(fh))
        with transaction.atomic():
            media_source_register(owner=episode, storage_key=key, filename=name, byte_size=path.stat().st_size,
                                  sha256=item.sha256)  # fmt: skip
            item.state, item.error, item.running_until = ImportItem.State.PROCESSING, "", None
            item.save(update_fields=["state", "error", "sha256", "bytes_done", "bytes_total", "running_until",
                                     "updated_at"])  # fmt: skip
        _sidecars(item, episode)
        path.unlink(missing_ok=True)
    except (FetchError, OSError, DomainError) as exc:
        permanent = isinstance(exc, FetchError) and exc.permanent or isinstance(exc, DomainError)
        if permanent or item.attempts >= settings.IMPORT_MAX_ATTEMPTS:
            item.state = ImportItem.State.FAILED
            path.unlink(missing_ok=True)
        else:
            item.state, item.next_attempt_at = ImportItem.State.PENDING, timezone.now() + _backoff(item.attempts)
        item.error, item.running_until = str(exc)[:1000], None
        item.save(update_fields=["state", "error", "next_attempt_at", "bytes_done", "bytes_total", "running_until",
                                 "updated_at"])  # fmt: skip
    return item


def _download(item: ImportItem, path: Path) -> None:
    """Stream the enclosure into ``path``, continuing a partial file; bounded by MEDIA_MAX_UPLOAD_BYTES."""
    limit = settings.MEDIA_MAX_UPLOAD_BYTES
    offset = path.stat().st_size if path.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with open_stream(item.enclosure_url, headers=headers) as (response, _final):
        if response.status == 416 and offset:
            return  # we already have every byte
        if response.status == 200 and offset:
            offset = 0  # the server ignored Range: start again
        elif response.status not in {200, 206}:
            raise FetchError(f"The enclosure answered {response.status}.", permanent=400 <= response.status < 500)
        length = response.getheader("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        if total is not None and total > limit:
            raise InvalidInput(f"The enclosure is {total} bytes; the upload limit is {limit}.")
        item.bytes_total = total
        with path.open("ab" if offset else "wb") as out:
            done = offset
            while chunk := _read(response):
                done += len(chunk)
                if done > limit:
                    raise InvalidInput(f"The enclosure is larger than the upload limit ({limit} bytes).")
                out.write(chunk)
                if done - item.bytes_done >= 4 * 1024 * 1024:  # progress, every 4 MiB
                    item.bytes_done = done
                    ImportItem.objects.filter(pk=item.pk).update(bytes_done=done)
            out.flush()
            os.fsync(out.fileno())
        item.bytes_done = done
        if total is not None and done < total:
            raise FetchError(f"The download stopped at {done} of {total} bytes.", permanent=False)
        if done == 0:
            raise InvalidInput("The enclosure is empty.")


def _read(response: Any) -> bytes:
    try:
        return bytes(response.read(CHUNK))
    except OSError as exc:
        raise FetchError(f"The connection broke: {exc}", permanent=False) from exc


def _sidecars(item: ImportItem, episode: Episode) -> None:
    """podcast:chapters JSON and podcast:transcript files: taken when they can be, a warning when not."""
    warnings: list[str] = []
    url = item.extras.get("chapters_url")
    if url and not episode.chapters:
        try:
            data = json.loads(fetch(url, max_bytes=SIDECAR_MAX_BYTES).body)
            chapters = [{"start": float(c["startTime"]), "title": str(c.get("title", ""))[:200]}
                        for c in data.get("chapters", []) if c.get("toc") is not False]  # fmt: skip
            validate_chapters(chapters)
            Episode.objects.filter(pk=episode.pk).update(chapters=chapters)
        except (FetchError, ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
            warnings.append(f"chapters not taken: {exc}"[:300])
    for transcript in item.extras.get("transcripts", []):
        fmt = TRANSCRIPT_FORMATS.get(transcript.get("type", "").split(";")[0].strip().lower())
        if fmt is None:
            continue
        try:
            content = fetch(transcript["url"], max_bytes=SIDECAR_MAX_BYTES).body.decode("utf-8", "replace")
            language = transcript.get("language") or episode.show.language or "en"
            transcript_attach(owner=episode, language=language, fmt=fmt, content=content)
        except (FetchError, DomainError, KeyError) as exc:
            warnings.append(f"transcript not taken: {exc}"[:300])
    if warnings:
        ImportItem.objects.filter(pk=item.pk).update(extras={**item.extras, "warnings": warnings})


# --- the sweep --------------------------------------------------------------------------------------------------


def imports_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Resend due jobs and items (the outbox), take back stale leases, publish processed items at their pubDate."""
    moment = now or timezone.now()
    jobs = list(ImportJob.objects.filter(state=ImportJob.State.PENDING, created_at__lte=moment - RESEND_AFTER)
                .values_list("pk", flat=True)[:100])  # fmt: skip
    ImportItem.objects.filter(state=ImportItem.State.DOWNLOADING, running_until__lt=moment).update(
        state=ImportItem.State.PENDING, next_attempt_at=moment
    )
    due = list(
        ImportItem.objects.filter(state=ImportItem.State.PENDING, episode__isnull=False)
        .exclude(next_attempt_at__gt=moment)
        .filter(updated_at__lte=moment - timedelta(seconds=30))
        .values_list("pk", flat=True)[:500]
    )
    from imports import tasks

    for pk in jobs:
        tasks.run.delay(pk)
    for pk in due:
        tasks.download.delay(pk)
    published = 0
    ready = ImportItem.objects.filter(state=ImportItem.State.PROCESSING, episode__status=Status.READY)
    for item in ready.select_related("episode")[:500]:
        if item.episode is None:
            continue
        try:
            episode_publish(episode=item.episode, publish_at=item.original_publish_at)
        except DomainError as exc:
            ImportItem.objects.filter(pk=item.pk).update(state=ImportItem.State.FAILED, error=str(exc)[:1000])
            continue
        ImportItem.objects.filter(pk=item.pk).update(state=ImportItem.State.DONE)
        published += 1
    ImportItem.objects.filter(state=ImportItem.State.PROCESSING, episode__status=Status.FAILED).update(
        state=ImportItem.State.FAILED, error="Processing failed: see the episode's processing job."
    )
    return {"jobs": len(jobs), "items": len(due), "published": published}
