"""What the pipeline writes into tags, taken from an episode or video."""

from __future__ import annotations

from pathlib import Path

from django.db.models.fields.files import FieldFile
from django.utils import timezone

from episodes.html import html_to_text
from episodes.media.tags import ChapterMark, TagMeta
from episodes.models import Episode, Video
from episodes.storage import storage_fetch_to


def _artwork(field: FieldFile | None, workdir: Path) -> Path | None:
    if not field or not field.name:
        return None
    target = workdir / ("cover" + Path(field.name).suffix.lower())
    try:
        storage_fetch_to(field.name, target)
    except OSError:
        return None  # tags without a cover beat a failed job
    return target


def tag_meta_for(owner: Episode | Video, workdir: Path) -> TagMeta:
    show = owner.show
    when = owner.publish_at or timezone.now()
    if isinstance(owner, Episode):
        description = owner.summary or html_to_text(owner.show_notes)
        cover = _artwork(owner.artwork, workdir) or _artwork(show.artwork, workdir)
        chapters = tuple(
            ChapterMark(start_s=float(c["start"]), end_s=None, title=str(c["title"])) for c in owner.chapters or []
        )
    else:
        description = html_to_text(owner.description)
        cover = _artwork(show.artwork, workdir)
        chapters = ()
    return TagMeta(
        title=owner.title,
        show=show.title,
        author=show.author or show.owner_name,
        date=when.date().isoformat(),
        description=description,
        language=show.language,
        cover=cover,
        chapters=chapters,
    )
