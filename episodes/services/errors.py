"""Domain errors. The API turns each into one JSON error shape; the admin shows their messages."""

from __future__ import annotations

from django.core.exceptions import ValidationError


class DomainError(Exception):
    """Base of every error a service raises on purpose; ``status`` is the HTTP status it maps to."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.fields = fields or {}


class InvalidInput(DomainError):
    status = 422
    code = "validation_error"

    @classmethod
    def from_validation_error(cls, exc: ValidationError) -> InvalidInput:
        if hasattr(exc, "error_dict"):
            fields = {name: [str(m) for m in ValidationError(errs).messages] for name, errs in exc.error_dict.items()}
            first = next(iter(fields.values()))[0] if fields else "Invalid input."
            label = next(iter(fields), "")
            message = first if label in {"", "__all__"} else f"{label}: {first}"
            return cls(message, fields=fields)
        return cls("; ".join(exc.messages), fields={"__all__": list(exc.messages)})


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"
