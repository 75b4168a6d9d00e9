"""Helpers shared by the services."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models

from .errors import Conflict, InvalidInput


def validate_and_save(
    instance: models.Model, *, exclude: Iterable[str] = (), update_fields: Iterable[str] | None = None
) -> None:
    """Run the model's validators and constraints, then save; bad input becomes ``InvalidInput``.

    With ``update_fields`` only those columns are written, so a stale instance cannot undo another
    writer's change (e.g. a metadata edit racing a publish).
    """
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as exc:
        raise InvalidInput.from_validation_error(exc) from exc
    try:
        if update_fields is None:
            instance.save()
        else:
            names = set(update_fields)
            if any(f.name == "updated_at" for f in instance._meta.concrete_fields):
                names.add("updated_at")
            instance.save(update_fields=sorted(names))
    except IntegrityError as exc:
        # A concurrent writer won the race on a unique field after full_clean passed.
        raise Conflict(f"This conflicts with an existing record: {exc}") from exc


def apply_fields(instance: models.Model, fields: dict[str, object], allowed: Iterable[str]) -> list[str]:
    """Set the allowed fields on ``instance``; return their names. Unknown names are a programming error."""
    allowed_set = set(allowed)
    unknown = set(fields) - allowed_set
    if unknown:
        raise InvalidInput(f"Unknown fields: {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(instance, name, value)
    return list(fields)
