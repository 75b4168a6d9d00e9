"""The files a run makes: written in a staging folder, described for storage and the API, then moved into place.

    staging = staged(workdir)                      # workdir/.staging-<hex>
    out = describe(staging, "audio.mp3", "audio_mp3", "audio/mpeg", bitrate=128_000)
    commit(staging, workdir)                       # every entry replaces the workdir's, the folder goes

A failed run removes its staging folder, so half-written files never look like outputs.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class OutputFile:
    """One rendition, described for storage and the API; paths are relative to the workdir."""

    kind: str
    path: str
    mime: str
    size_bytes: int
    sha256: str
    codec: str | None = None
    bitrate: int | None = None
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    label: str | None = None
    files: tuple[str, ...] = ()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def describe(root: Path, rel: str, kind: str, mime: str, **extra: Any) -> OutputFile:
    """``root / rel`` as an OutputFile: its size and sha256 read from disk, the rest as given."""
    path = root / rel
    return OutputFile(kind=kind, path=rel, mime=mime, size_bytes=path.stat().st_size, sha256=_sha256(path), **extra)


def container_facts(path: Path) -> tuple[float | None, int | None]:
    """(duration in seconds, overall bit rate) of a media file we wrote, from one open of its container."""
    import av

    with av.open(str(path)) as container:
        duration = container.duration / 1_000_000 if container.duration else None
        return duration, int(container.bit_rate) if container.bit_rate else None


def staged(workdir: Path) -> Path:
    """A new, empty staging folder inside ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    staging = workdir / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    return staging


def commit(staging: Path, workdir: Path) -> None:
    """Move finished outputs from the staging folder into the workdir (replacing a previous run's)."""
    for entry in staging.iterdir():
        target = workdir / entry.name
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(entry, target)
    staging.rmdir()
