"""Date-times the API accepts: ISO 8601 text that PostgreSQL and Python can hold in UTC.

``ZonedDateTime`` (filters, article dates) refuses numbers (pydantic would read ``0`` as 1970) and dates that
overflow when moved to UTC (``0001-01-01T00:00:00+14:00``), which would otherwise fail deep in the database
adapter as a 500. ``PublishDateTime`` also bounds a publication date to 2000–2100: an episode dated 1970 is a
typo or a zero, never a real date.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        raise ValueError("give an ISO 8601 date-time such as 2026-05-01T09:00:00+03:00")
    return value


def _in_utc_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC) if value.tzinfo is not None else value
    except OverflowError:
        raise ValueError("this date-time is out of range") from None
    if not 1 < utc.year < 9999:
        raise ValueError("this date-time is out of range")
    return value


def _publishable(value: datetime) -> datetime:
    year = (value.astimezone(UTC) if value.tzinfo is not None else value).year
    if not 2000 <= year < 2100:
        raise ValueError("a publication date must lie between 2000 and 2100")
    return value


ZonedDateTime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_in_utc_range)]
PublishDateTime = Annotated[ZonedDateTime, AfterValidator(_publishable)]
