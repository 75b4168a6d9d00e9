"""Media files in Django's default storage (local disk or S3): stream in, stream out, delete by prefix.

``storage_put_file(key, path)`` uploads without reading the whole file into memory (django-storages streams
to S3 with multipart); ``storage_fetch_to(key, path)`` downloads the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path, PurePosixPath

from django.core.files import File
from django.core.files.storage import Storage, default_storage

CHUNK = 1024 * 1024


def storage() -> Storage:
    return default_storage


def storage_put_file(key: str, path: Path) -> str:
    """Store ``path`` at exactly ``key`` (replacing what was there); returns the key."""
    st = storage()
    if st.exists(key):
        st.delete(key)
    with path.open("rb") as fh:
        saved = st.save(key, File(fh, name=PurePosixPath(key).name))
    if saved != key:
        # FileSystemStorage renames on a clash; keys are deterministic, so a clash means a concurrent writer.
        st.delete(saved)
        raise OSError(f"Storage refused to write {key!r} (stored as {saved!r}).")
    return key


def storage_fetch_to(key: str, path: Path) -> int:
    """Copy a stored file to a local path in chunks; returns its size."""
    with storage().open(key, "rb") as src, path.open("wb") as dst:
        shutil.copyfileobj(src, dst, CHUNK)
    return path.stat().st_size


def storage_delete_prefix(prefix: str) -> int:
    """Delete every file under ``prefix`` (a folder-like key); returns how many were deleted."""
    st = storage()
    prefix = prefix.rstrip("/")
    deleted = 0
    try:
        folders, files = st.listdir(prefix)
    except FileNotFoundError:
        return 0
    for name in files:
        st.delete(f"{prefix}/{name}")
        deleted += 1
    for folder in folders:
        deleted += storage_delete_prefix(f"{prefix}/{folder}")
    _remove_empty_folder(st, prefix)
    return deleted


def _remove_empty_folder(st: Storage, prefix: str) -> None:
    """On local disk a deleted run leaves its folders behind: remove the (now empty) folder too. Object stores
    have no folders."""
    try:
        local = st.path(prefix)
    except NotImplementedError:
        return
    with contextlib.suppress(OSError):  # not empty (a file written meanwhile) or gone already
        os.rmdir(local)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
