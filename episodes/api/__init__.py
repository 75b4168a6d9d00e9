"""The episodes app's API (mounted under /api/v1/ by media_hub.api): public reads, producer writes, uploads."""

from . import articles, artwork, clips, credits, producer, public, uploads  # noqa: F401 - registering their operations
from .base import router

__all__ = ["router"]
