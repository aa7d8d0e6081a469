"""Atomic writes: a file (or a folder such as a Zarr store) appears whole or not at all.

Every writer in poselab writes to a temporary name beside the target and renames it into place
(``os.replace`` is atomic within a file system), so a crash, a full disk or a killed kernel
never leaves a half-written pose file, model, config or label export where a good one was.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_path", "copy_atomic", "write_bytes_atomic", "write_text_atomic"]


def _temporary_name(path: Path) -> Path:
    # Same folder (so the rename stays on one file system), hidden, and the same suffix: some
    # writers choose the format from it (OpenCV's video writer, image encoders).
    return path.with_name(f".{path.stem}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink(missing_ok=True)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path to write ``path`` to; it replaces ``path`` when the block succeeds.

    Parameters
    ----------
    path
        The file or folder to write. Its parent folder is created if needed.

    Yields
    ------
    pathlib.Path
        A fresh name in the same folder, with the same suffix. Write the whole file (or
        folder) there. If the block raises, the temporary file is removed and ``path`` is left
        as it was.

    Examples
    --------
    >>> with atomic_path("poses/mouse.nc") as tmp:   # doctest: +SKIP
    ...     ds.to_netcdf(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to the temporary file for {path}")
        if tmp.is_dir() and path.exists():
            # os.replace cannot put a folder over a non-empty folder: move the old one aside
            # first, so the target is never missing for longer than two renames.
            old = _temporary_name(path).with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(path, old)
            os.replace(tmp, path)
            _remove(old)
        else:
            os.replace(tmp, path)
    finally:
        _remove(tmp)


def write_text_atomic(path: str | os.PathLike, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; returns the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def copy_atomic(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy the file ``source`` to ``target`` atomically; returns the target."""
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
    return Path(target)
