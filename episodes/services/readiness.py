"""What Apple Podcasts and the Podcast Index need before a show or episode goes live.

Usage::

    checks = show_checks(show)              # every item, passed or not, for the producer's checklist
    blocking(checks)                        # the required ones that fail
    require_live_ready(episode=episode)     # raises NotReady (HTTP 422, fields named) before a publish

A required check that fails keeps the item out of feeds (publishing is refused); a recommended one is shown
on the checklist only. ``field`` names the form field that fixes it (``show.categories``), so the admin can link
to it and the API can name it.
"""

from __future__ import annotations

from dataclasses import dataclass

from episodes.models import Episode, Rendition, Show, Status, Video
from episodes.validators import ARTWORK_MAX_PX, ARTWORK_MIN_PX

from .errors import InvalidInput

APPLE_TEXT_BYTES = 4000  # Apple shows at most 4000 bytes of a description
TITLE_CHARS = 255


@dataclass(frozen=True)
class Check:
    owner: str  # "show" | "episode" | "video"
    field: str  # the model field that fixes it
    label: str  # what is checked, for the checklist
    ok: bool
    required: bool
    problem: str = ""  # what is wrong, in the producer's words (empty when ok)

    @property
    def key(self) -> str:
        return f"{self.owner}.{self.field}"


class NotReady(InvalidInput):
    """Publishing was refused: required fields are missing or wrong (HTTP 422, ``fields`` names them)."""

    code = "not_ready"


def _artwork_problem(show: Show) -> str:
    # Format, size and squareness are checked when the file is uploaded (validators.validate_artwork), so the
    # check here reads no bytes from storage (a publish must not depend on fetching the image from S3).
    if not show.artwork:
        return f"Add cover art: a square JPEG or PNG of {ARTWORK_MIN_PX}–{ARTWORK_MAX_PX} pixels a side."
    return ""


def _length_problem(text: str, what: str) -> str:
    size = len(text.encode("utf-8"))
    return f"{what} is {size} bytes; Apple shows at most {APPLE_TEXT_BYTES}." if size > APPLE_TEXT_BYTES else ""


def show_checks(show: Show) -> list[Check]:
    """The show-level checklist, in the order a producer fixes things."""
    artwork = _artwork_problem(show)
    described = (show.description or "").strip()
    desc_len = _length_problem(show.description or "", "The description")
    return [
        Check("show", "title", "Title", bool(show.title.strip()), True, "" if show.title.strip() else "Add a title."),
        Check("show", "description", "Description", bool(described), True,
              "" if described else "Add a description (podcast apps show it on the show page)."),
        Check("show", "description", "Description length (Apple: 4000 bytes)", not desc_len, False, desc_len),
        Check("show", "categories", "Apple category", bool(show.categories), True,
              "" if show.categories else "Choose at least one Apple Podcasts category."),
        Check("show", "artwork", "Cover art (square, 1400–3000 px, RGB JPEG/PNG)", not artwork, True, artwork),
        Check("show", "language", "Language", bool(show.language.strip()), True,
              "" if show.language.strip() else "Set the show's language (e.g. en, uk)."),
        Check("show", "owner_email", "Owner e-mail (Apple and Podcast Index verify ownership with it)",
              bool(show.owner_email), False, "" if show.owner_email else "Add the owner's e-mail address."),
        Check("show", "author", "Author", bool(show.author.strip()), False,
              "" if show.author.strip() else "Name the author (shown under the title in apps)."),
        Check("show", "explicit", f"Explicit flag set ({'yes' if show.explicit else 'no'})", True, True),
    ]  # fmt: skip


def _has_media(item: Episode | Video) -> bool:
    kind = Rendition.Kind.AUDIO_MP3 if isinstance(item, Episode) else Rendition.Kind.VIDEO_MP4
    # Prefetched renditions (the admin's change page) are used when present: no extra query.
    return any(r.kind == kind for r in item.renditions.all())


def media_duration(item: Episode | Video) -> float | None:
    """The processed media's duration (the main rendition's), or None before processing."""
    kind = Rendition.Kind.AUDIO_MP3 if isinstance(item, Episode) else Rendition.Kind.VIDEO_MP4
    durations = [r.duration for r in item.renditions.all() if r.kind == kind and r.duration]
    return max(durations) if durations else None


def chapter_problem(chapters: list[dict[str, object]], duration: float | None) -> str:
    """Chapters must start inside the media, and the last one must not start at its very end."""
    if duration is None or not chapters:
        return ""
    for index, chapter in enumerate(chapters, start=1):
        start = float(chapter.get("start", 0) or 0)  # type: ignore[arg-type]
        if start >= duration - 1:
            return (
                f"Chapter {index} (“{chapter.get('title', '')}”) starts at {start:g} s, but the media lasts "
                f"{duration:.1f} s: a chapter must start at least 1 s before the end."
            )
    return ""


def item_checks(item: Episode | Video) -> list[Check]:
    """The episode- or video-level checklist (the show's comes from ``show_checks``)."""
    owner = "episode" if isinstance(item, Episode) else "video"
    processed = _has_media(item)
    status_problem = {
        Status.DRAFT: "Upload the media file.",
        Status.PROCESSING: "The media is still being processed.",
        Status.FAILED: "Processing failed: upload a new file or re-process it.",
    }.get(Status(item.status), "Processing has not produced the main file yet.")
    checks = [
        Check(owner, "title", "Title", bool(item.title.strip()), True, "" if item.title.strip() else "Add a title."),
        Check(owner, "upload", "Media processed", processed, True, "" if processed else status_problem),
    ]
    if isinstance(item, Episode):
        summary = (item.summary or "").strip()
        checks += [
            Check(owner, "summary", "Summary", bool(summary), False,
                  "" if summary else "Add a summary (shown in podcast apps under the title)."),
            Check(owner, "summary", "Summary length (Apple: 4000 bytes)",
                  not _length_problem(item.summary or "", "The summary"), False,
                  _length_problem(item.summary or "", "The summary")),
            Check(owner, "explicit", f"Explicit flag set ({'yes' if item.explicit else 'no'})", True, True),
        ]  # fmt: skip
        chapters = chapter_problem(list(item.chapters or []), media_duration(item))
        checks.append(Check(owner, "chapters", "Chapters inside the media", not chapters, True, chapters))
    return checks


def blocking(checks: list[Check]) -> list[Check]:
    return [c for c in checks if c.required and not c.ok]


def live_checks(item: Episode | Video) -> list[Check]:
    """Everything that decides whether ``item`` may go live: the show's checks (for feed items) and its own."""
    goes_into_feed = isinstance(item, Episode) or item.episode_id is not None
    return [*(show_checks(item.show) if goes_into_feed else []), *item_checks(item)]


def require_live_ready(item: Episode | Video, *, skip_media: bool = True) -> None:
    """Raise ``NotReady`` naming every required field that is missing or wrong.

    ``skip_media``: the publish service reports missing media itself (as a conflict), so it is left out here.
    """
    failing = [c for c in blocking(live_checks(item)) if not (skip_media and c.field == "upload")]
    if not failing:
        return
    noun = "show" if all(c.owner == "show" for c in failing) else item._meta.verbose_name
    fields: dict[str, list[str]] = {}
    for check in failing:
        fields.setdefault(check.key, []).append(check.problem)
    listed = " ".join(c.problem for c in failing)
    where = f"“{item.show.title}”" if noun == "show" else f"“{item.title}”"
    raise NotReady(f"The {noun} {where} cannot go live yet. {listed}", fields=fields)
