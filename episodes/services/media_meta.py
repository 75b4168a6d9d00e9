"""What the pipeline writes into tags, taken from an episode or video, and a digest of it.

source = tag_source(episode)          # plain values, no file read: cheap enough to compare on every edit
source.digest                         # equal digests: the files' tags need no rewrite
meta = tag_meta(source, workdir)      # the TagMeta to write (fetches the cover image into workdir)
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from episodes.html import html_to_text
from episodes.media.tags import ChapterMark, TagMeta
from episodes.models import Episode, Video
from episodes.storage import storage_fetch_to


@dataclass(frozen=True)
class TagSource:
    """Everything the tags of an owner's audio files carry, as stored values (artwork by its storage name)."""

    title: str
    show: str
    author: str
    date: str
    description: str
    language: str
    artwork: str  # storage key of the cover (the episode's, else the show's); "" for none
    chapters: tuple[tuple[float, str], ...]
    number: int | None
    season: int | None

    @property
    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def tag_source(owner: Episode | Video) -> TagSource:
    show = owner.show
    # The date is the publish time, else when the item was made: never "today", which would change every day.
    when = owner.publish_at or owner.created_at
    if isinstance(owner, Episode):
        description = owner.summary or html_to_text(owner.show_notes)
        artwork = (owner.artwork.name if owner.artwork else "") or (show.artwork.name if show.artwork else "")
        chapters = tuple((float(c["start"]), str(c["title"])) for c in owner.chapters or [])
        number, season = owner.number, owner.season
    else:
        description = html_to_text(owner.description)
        artwork = show.artwork.name if show.artwork else ""
        chapters, number, season = (), None, None
    return TagSource(
        title=owner.title,
        show=show.title,
        author=show.author or show.owner_name,
        date=when.date().isoformat() if when else "",
        description=description,
        language=show.language,
        artwork=artwork or "",
        chapters=chapters,
        number=number,
        season=season,
    )


def _artwork(name: str, workdir: Path) -> Path | None:
    if not name:
        return None
    target = workdir / ("cover" + Path(name).suffix.lower())
    try:
        storage_fetch_to(name, target)
    except OSError:
        return None  # tags without a cover beat a failed job
    return target


def tag_meta(source: TagSource, workdir: Path) -> TagMeta:
    return TagMeta(
        title=source.title,
        show=source.show,
        author=source.author,
        date=source.date,
        description=source.description,
        language=source.language,
        cover=_artwork(source.artwork, workdir),
        chapters=tuple(ChapterMark(start_s=start, end_s=None, title=title) for start, title in source.chapters),
        number=source.number,
        season=source.season,
    )


def tag_meta_for(owner: Episode | Video, workdir: Path) -> TagMeta:
    return tag_meta(tag_source(owner), workdir)
