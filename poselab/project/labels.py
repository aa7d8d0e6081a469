"""The label store: every keypoint a user places, in one SQLite file inside the project.

Why SQLite: each edit is one small transaction (write-ahead log, ``synchronous=FULL``), so a
kernel that is killed, culled by JupyterHub or loses power keeps every point already placed;
there is no "save" step to forget and no large file rewritten on each click.

Tables
------
``images``
    one row per image to label: ``image`` (path relative to the project, unique), ``video``
    (relative path or ""), ``frame`` (the frame's index in that video, or -1).
``points``
    one row per placed part: ``image_id``, ``animal``, ``part``, ``x``, ``y`` (pixels, image
    coordinates: x right, y down, pixel centres at integers), ``occluded`` (0/1: the user marked
    the part as hidden; x/y may then be NULL), ``edited`` (UTC time of the edit), ``source``
    (``"human"``: placed by a person; ``"predicted"``: written from a model's predictions, for a
    person to check; a person's edit makes it ``"human"``).

The store reads as a pandas DataFrame (:meth:`LabelStore.to_dataframe`) or as a labels Dataset
(:meth:`LabelStore.to_dataset`, rows along ``image``; see :func:`poselab.core.poses.validate_labels`).
"""

from __future__ import annotations

import datetime as _dt
import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from poselab.core import poses
from poselab.core.errors import PoselabError

SCHEMA_VERSION = 2
"""1: points without ``source``; 2: ``source`` ("human" or "predicted") per point."""

#: Who placed a point: a person, or a model's prediction written for a person to check.
PointSource = Literal["human", "predicted"]
SOURCES = ("human", "predicted")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS images (
    id INTEGER PRIMARY KEY,
    image TEXT NOT NULL UNIQUE,
    video TEXT NOT NULL DEFAULT '',
    frame INTEGER NOT NULL DEFAULT -1,
    width INTEGER NOT NULL DEFAULT 0,
    height INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS points (
    image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
    animal TEXT NOT NULL,
    part TEXT NOT NULL,
    x REAL,
    y REAL,
    occluded INTEGER NOT NULL DEFAULT 0,
    edited TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT 'human',
    PRIMARY KEY (image_id, animal, part)
);
"""

# One upsert for every writer: a placed point replaces the stored one of the same key.
_UPSERT = (
    "INSERT INTO points(image_id, animal, part, x, y, occluded, edited, source) VALUES (?,?,?,?,?,?,?,?) "
    "ON CONFLICT(image_id, animal, part) DO UPDATE SET x=excluded.x, y=excluded.y, "
    "occluded=excluded.occluded, edited=excluded.edited, source=excluded.source"
)


class LabelError(PoselabError, ValueError):
    """A label edit or import that cannot be applied (unknown part, point outside the image...)."""


@dataclass(frozen=True)
class ImageRecord:
    """An image registered for labeling."""

    image: str
    """Path relative to the project root."""
    video: str = ""
    """Video the image was extracted from (relative path), or ""."""
    frame: int = -1
    """Index of the frame in ``video``, or -1."""
    width: int = 0
    """Image width in pixels (0 when unknown)."""
    height: int = 0
    """Image height in pixels (0 when unknown)."""


class LabelStore:
    """Keypoint labels of a project, stored in SQLite, one transaction per edit.

    Parameters
    ----------
    path
        The SQLite file (created if absent).
    parts
        Names of the parts that may be labeled.
    animals
        Names of the animals (one for a single-animal project).
    """

    def __init__(self, path: str | os.PathLike, parts: Sequence[str], animals: Sequence[str] = ("animal0",)):
        self.path = Path(path)
        self.parts = list(parts)
        self.animals = list(animals)
        if not self.parts:
            raise LabelError("a label store needs at least one part name")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # autocommit mode: each `with self._db:` block below is one explicit transaction.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._migrate()
        self._db.execute(
            "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (edits are already on disk)."""
        self._db.close()

    def __enter__(self) -> LabelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        n_images = len(self.images())
        n_labeled = self._db.execute("SELECT COUNT(DISTINCT image_id) FROM points").fetchone()[0]
        return f"<LabelStore {self.path.name}: {n_images} images, {n_labeled} with labels>"

    # --- images ---------------------------------------------------------------------------------

    def add_images(self, records: Iterable[ImageRecord]) -> int:
        """Register images for labeling (already registered ones are left as they are).

        Returns the number of images added.
        """
        rows = [(r.image, r.video, int(r.frame), int(r.width), int(r.height)) for r in records]
        with self._transaction():
            before = self._db.total_changes
            self._db.executemany(
                "INSERT OR IGNORE INTO images(image, video, frame, width, height) VALUES (?,?,?,?,?)",
                rows,
            )
            return self._db.total_changes - before

    def images(self, *, video: str | None = None) -> list[ImageRecord]:
        """Registered images in the order they were added (optionally of one video)."""
        query = "SELECT image, video, frame, width, height FROM images"
        args: tuple[Any, ...] = ()
        if video is not None:
            query += " WHERE video = ?"
            args = (video,)
        return [ImageRecord(*row) for row in self._db.execute(query + " ORDER BY id", args)]

    def labeled_frames(self, video: str) -> set[int]:
        """Frame indices of ``video`` that are registered for labeling (to exclude on selection)."""
        rows = self._db.execute("SELECT frame FROM images WHERE video = ? AND frame >= 0", (video,))
        return {row[0] for row in rows}

    # --- edits ----------------------------------------------------------------------------------

    def set_point(
        self,
        image: str,
        part: str,
        x: float | None,
        y: float | None,
        *,
        animal: str | None = None,
        occluded: bool = False,
    ) -> None:
        """Place or move one part on one image (one transaction, on disk when this returns).

        Parameters
        ----------
        image
            Image path relative to the project, as registered.
        part, animal
            Which point; ``animal`` defaults to the only animal of a single-animal project.
        x, y
            Position in pixels (image coordinates). Both may be None only when ``occluded``.
        occluded
            The part is hidden; its position, if given, is the user's best guess.
        """
        animal = self._check_names(part, animal)
        image_id, width, height = self._image_row(image)
        if x is None or y is None:
            if not occluded:
                raise LabelError(f"{part!r} on {image}: give x and y, or mark the part occluded")
            x = y = None
        else:
            x, y = float(x), float(y)
            if not (np.isfinite(x) and np.isfinite(y)):
                raise LabelError(f"{part!r} on {image}: x and y must be finite numbers; got {x}, {y}")
            _check_inside(image, part, x, y, width, height)
        self._upsert([(image_id, animal, part, x, y, int(occluded), _now(), "human")])

    def delete_point(self, image: str, part: str, *, animal: str | None = None) -> bool:
        """Remove one placed part; returns whether there was one."""
        animal = self._check_names(part, animal)
        image_id, _, _ = self._image_row(image)
        with self._transaction():
            cursor = self._db.execute(
                "DELETE FROM points WHERE image_id = ? AND animal = ? AND part = ?",
                (image_id, animal, part),
            )
            return cursor.rowcount > 0

    def points(self, image: str) -> dict[tuple[str, str], tuple[float | None, float | None, bool]]:
        """Placed parts of one image: ``{(animal, part): (x, y, occluded)}``, x and y in pixels."""
        image_id, _, _ = self._image_row(image)
        rows = self._db.execute(
            "SELECT animal, part, x, y, occluded FROM points WHERE image_id = ?", (image_id,)
        )
        return {(a, p): (x, y, bool(o)) for a, p, x, y, o in rows}

    def point_sources(self, image: str) -> dict[tuple[str, str], PointSource]:
        """Who placed each point of one image: ``{(animal, part): "human" or "predicted"}``."""
        image_id, _, _ = self._image_row(image)
        rows = self._db.execute("SELECT animal, part, source FROM points WHERE image_id = ?", (image_id,))
        return {(a, p): source for a, p, source in rows}

    def set_points(
        self,
        image: str,
        values: dict[tuple[str, str], tuple[float, float]],
        *,
        source: PointSource = "human",
    ) -> None:
        """Place several parts of one image in one transaction, replacing stored ones.

        Parameters
        ----------
        image
            Image path relative to the project, as registered.
        values
            ``{(animal, part): (x, y)}`` in pixels (image coordinates); missing or non-finite
            positions are skipped.
        source
            ``"human"`` (placed by a person, e.g. labels made elsewhere) or ``"predicted"``
            (a model's predictions, for a person to check).
        """
        if source not in SOURCES:
            raise LabelError(f"source must be one of {SOURCES}; got {source!r}")
        image_id, width, height = self._image_row(image)
        rows = []
        for (animal, part), (x, y) in values.items():
            animal = self._check_names(part, animal)
            if x is None or y is None or not (np.isfinite(x) and np.isfinite(y)):
                continue
            _check_inside(image, part, float(x), float(y), width, height)
            rows.append((image_id, animal, part, float(x), float(y), 0, _now(), source))
        self._upsert(rows)

    # --- views ----------------------------------------------------------------------------------

    def to_dataframe(self) -> pd.DataFrame:
        """All placed points as a long table.

        Columns: ``image, video, frame, animal, part, x, y, occluded, source`` (x, y in
        pixels; ``source``: ``"human"`` or ``"predicted"``).
        """
        return pd.read_sql_query(
            "SELECT i.image, i.video, i.frame, p.animal, p.part, p.x, p.y, p.occluded, p.source "
            "FROM points p JOIN images i ON i.id = p.image_id ORDER BY i.id, p.animal, p.part",
            self._db,
        ).astype({"occluded": bool})

    def to_dataset(self, *, only_labeled: bool = True, include_occluded: bool = False) -> xr.Dataset:
        """Labels as a labels Dataset: one row along ``image`` per image, in the order added.

        Parameters
        ----------
        only_labeled
            Leave out registered images with no point placed.
        include_occluded
            Keep the guessed positions of occluded parts (else NaN) and add an ``occluded``
            variable ``(animal, part, image)`` saying which.

        Returns
        -------
        xarray.Dataset
            ``position`` (animal, part, image, coord) in pixels and ``likelihood`` (1 where a
            point is placed, NaN elsewhere); the ``image`` index holds the project-relative
            paths, with ``video`` and ``video_frame`` (the frame's index in the video, -1 if
            none) along it (see :func:`poselab.core.poses.validate_labels`).
        """
        records = self.images()
        table = self.to_dataframe()
        if only_labeled:
            labeled = set(table["image"])
            records = [r for r in records if r.image in labeled]
        index = {r.image: i for i, r in enumerate(records)}
        position = np.full((len(self.animals), len(self.parts), len(records), 2), np.nan)
        occluded = np.zeros(position.shape[:3], dtype=bool)
        table = table[table["image"].isin(index.keys())]
        a = table["animal"].map({n: i for i, n in enumerate(self.animals)}).to_numpy()
        p = table["part"].map({n: i for i, n in enumerate(self.parts)}).to_numpy()
        f = table["image"].map(index).to_numpy()
        known = ~(np.isnan(a.astype(float)) | np.isnan(p.astype(float)))  # ignore retired names
        a, p, f = a[known].astype(int), p[known].astype(int), f[known].astype(int)
        xy = table[["x", "y"]].to_numpy(dtype=float)[known]
        occ = table["occluded"].to_numpy(dtype=bool)[known]
        keep = ~occ | include_occluded
        position[a[keep], p[keep], f[keep]] = xy[keep]
        occluded[a, p, f] = occ
        widths = {r.width for r in records} or {0}
        heights = {r.height for r in records} or {0}
        ds = poses.labels_from_arrays(
            position,
            images=[r.image for r in records],
            videos=[r.video for r in records],
            video_frames=[r.frame for r in records],
            animals=self.animals,
            parts=self.parts,
            width=widths.pop() if len(widths) == 1 else 0,
            height=heights.pop() if len(heights) == 1 else 0,
            source=f"poselab {poses.__version__} labels",
        )
        if include_occluded:
            ds["occluded"] = (poses.LABELS_LIKELIHOOD_DIMS, occluded)
        return ds

    def import_dataset(self, ds: xr.Dataset, *, images: Sequence[ImageRecord] | None = None) -> int:
        """Add labels from a labels Dataset (e.g. a DeepLabCut label file), as a person's labels.

        Parameters
        ----------
        ds
            A labels Dataset (rows along ``image``; see :func:`poselab.core.poses.validate_labels`),
            positions in pixels.
        images
            One record per row of ``ds`` (default: records named by its ``image`` index, with
            no video and no known size).

        Returns
        -------
        int
            The number of points written. Existing points of the same images are overwritten;
            all in one transaction.
        """
        if not poses.is_labels(ds):
            raise LabelError(
                "import_dataset needs a labels Dataset with rows along 'image' (e.g. read_deeplabcut "
                f"of a label file or LabelStore.to_dataset); got dims {tuple(ds.dims)}"
            )
        if images is None:
            images = [ImageRecord(str(name)) for name in ds["image"].values]
        if len(images) != ds.sizes["image"]:
            raise LabelError(f"{len(images)} image records for {ds.sizes['image']} images")
        unknown = sorted(set(ds["part"].values.tolist()) - set(self.parts))
        if unknown:
            raise LabelError(f"parts {unknown} are not parts of this project: {self.parts}")
        self.add_images(images)
        ids = {image: i for i, image in self._db.execute("SELECT id, image FROM images")}
        position = ds["position"].transpose(*poses.LABELS_POSITION_DIMS).values
        rows = []
        stamp = _now()
        for ai, animal in enumerate(ds["animal"].values.tolist()):
            if animal not in self.animals:
                raise LabelError(f"animal {animal!r} is not an animal of this project: {self.animals}")
            a_idx, f_idx = np.nonzero(np.isfinite(position[ai]).all(axis=-1))
            for pi, fi in zip(a_idx, f_idx):
                record = images[fi]
                x, y = position[ai, pi, fi, :2]
                _check_inside(record.image, ds["part"].values[pi], x, y, record.width, record.height)
                rows.append((ids[record.image], animal, str(ds["part"].values[pi]), float(x), float(y), 0, stamp,
                             "human"))
        self._upsert(rows)
        return len(rows)

    # --- internals ------------------------------------------------------------------------------

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)

    def _upsert(self, rows: list[tuple]) -> None:
        """Write point rows ``(image_id, animal, part, x, y, occluded, edited, source)`` in one transaction."""
        with self._transaction():
            self._db.executemany(_UPSERT, rows)

    def _migrate(self) -> None:
        """Bring a store written by an older poselab to :data:`SCHEMA_VERSION` (in place, kept)."""
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(points)")}
        if "source" not in columns:  # schema 1: every stored point was placed by a person
            with self._transaction():
                self._db.execute("ALTER TABLE points ADD COLUMN source TEXT NOT NULL DEFAULT 'human'")
                self._db.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                )

    def _check_names(self, part: str, animal: str | None) -> str:
        if part not in self.parts:
            raise LabelError(f"unknown part {part!r}; the project's parts are {self.parts}")
        if animal is None:
            if len(self.animals) != 1:
                raise LabelError(f"say which animal: one of {self.animals}")
            animal = self.animals[0]
        if animal not in self.animals:
            raise LabelError(f"unknown animal {animal!r}; the project's animals are {self.animals}")
        return animal

    def _image_row(self, image: str) -> tuple[int, int, int]:
        row = self._db.execute(
            "SELECT id, width, height FROM images WHERE image = ?", (str(image),)
        ).fetchone()
        if row is None:
            raise LabelError(f"image {image!r} is not registered for labeling (add it first)")
        return row


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (or ``ROLLBACK`` on error) on an autocommit connection."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: type | None, *exc: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")


def _check_inside(image: str, part: str, x: float, y: float, width: int, height: int) -> None:
    # Pixel centres are at integer coordinates, so the image spans [-0.5, size - 0.5].
    if width and height and not (-0.5 <= x <= width - 0.5 and -0.5 <= y <= height - 0.5):
        raise LabelError(
            f"{part!r} on {image} at ({x:.1f}, {y:.1f}) px lies outside the {width}x{height} image"
        )


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
