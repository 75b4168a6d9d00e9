"""The resumable upload protocol's messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict


class UploadStartIn(Schema):
    model_config = ConfigDict(extra="forbid")

    type: Literal["episode", "video"]
    id: Annotated[int, Field(ge=1, le=2**62)]
    filename: Annotated[str, Field(min_length=1, max_length=255)]
    # No lower bound here: the service says "The file is empty" in the producer's words (not the library's).
    byte_size: Annotated[int, Field(le=2**62)] = Field(description="The whole file's size in bytes.")
    part_size: Annotated[int, Field(ge=1, le=2**62)] | None = Field(None, description="Omit for the default.")
    sha256: Annotated[str, Field(max_length=64)] = Field("", description="Hex SHA-256 of the whole file, optional.")
    content_type: Annotated[str, Field(max_length=100)] = ""


class UploadCompleteIn(Schema):
    model_config = ConfigDict(extra="forbid")

    sha256: Annotated[str, Field(max_length=64)] = ""


class UploadPartOut(Schema):
    number: int
    byte_size: int
    sha256: str
    md5: str
    etag: str


class UploadOut(Schema):
    id: UUID
    state: str
    backend: Literal["local", "s3"]
    filename: str
    byte_size: int
    part_size: int
    part_count: int
    received_bytes: int
    parts: list[UploadPartOut]
    missing_parts: list[int]
    part_url_template: str | None = Field(description="Local backend: PUT part n to this URL ({n} replaced).")
    part_urls: dict[int, str] = Field(description="S3 backend: presigned PUT URLs of the missing parts.")
    expires_at: datetime
    source_id: int | None
    status_url: str | None
