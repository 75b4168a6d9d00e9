"""Show and episode artwork: normalised once at upload (episodes.artwork), whichever door it came through.

show = artwork_set(owner=show, file=uploaded)     # InvalidInput (422) with the producer's reason
fields = with_normalised_artwork(fields)          # for services taking ``artwork=`` among other fields
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.files import File
from django.db.models.fields.files import FieldFile

from episodes.artwork import normalise_artwork
from episodes.models import Episode, Show

from .common import validate_and_save
from .errors import InvalidInput


def artwork_normalised(file: Any) -> Any:
    """A newly uploaded file, normalised; a stored file or an empty value (clearing the art), as given."""
    if not file or isinstance(file, FieldFile) or not isinstance(file, File):
        return file
    try:
        return normalise_artwork(file)
    except ValidationError as exc:
        message = exc.messages[0]
        raise InvalidInput(f"artwork: {message}", fields={"artwork": list(exc.messages)}) from exc


def with_normalised_artwork(fields: dict[str, Any]) -> dict[str, Any]:
    if "artwork" not in fields:
        return fields
    return {**fields, "artwork": artwork_normalised(fields["artwork"])}


def artwork_set(*, owner: Show | Episode, file: File[Any]) -> Show | Episode:
    """Replace the artwork of a show or an episode (the old file is removed once the new one is saved)."""
    fixed = artwork_normalised(file)
    old = owner.artwork.name if owner.artwork else ""
    owner.artwork = fixed
    validate_and_save(owner, update_fields=["artwork"])
    if old and old != owner.artwork.name:
        owner.artwork.storage.delete(old)
    return owner
