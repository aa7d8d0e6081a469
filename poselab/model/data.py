"""Labeled images for training: pixels (in memory or read lazily) and keypoints."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Union

import cv2
import numpy as np
import xarray as xr
from PIL import Image

from poselab.core import poses
from poselab.core.errors import PoselabError
from poselab.io.deeplabcut import column_pairs, read_deeplabcut

__all__ = ["DataError", "LabelGeometry", "LabeledImages", "label_geometry", "read_rgb"]

ImageLike = Union[np.ndarray, str, os.PathLike]


class DataError(PoselabError, ValueError):
    """Labeled images cannot be built or read as asked."""


def read_rgb(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DataError(f"cannot read image {path}")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


@dataclass
class LabeledImages:
    """Images with keypoints of one animal.

    Attributes
    ----------
    images : list
        ``(H, W, 3)`` uint8 RGB arrays, or image paths read on demand.
    keypoints : np.ndarray
        ``(N, P, 2)`` float x, y in pixels, NaN where a part is not labeled.
    parts : list of str
        The P part names.
    names : list of str
        One name per image (e.g. its path relative to the project).
    """

    images: list[ImageLike]
    keypoints: np.ndarray
    parts: list[str]
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.images = list(self.images)
        self.keypoints = np.asarray(self.keypoints, dtype=float)
        self.parts = [str(p) for p in self.parts]
        if not self.names:
            self.names = [str(im) if not isinstance(im, np.ndarray) else f"image{i}"
                          for i, im in enumerate(self.images)]
        self.names = [str(n) for n in self.names]
        n, p = len(self.images), len(self.parts)
        if self.keypoints.shape != (n, p, 2):
            raise DataError(
                f"keypoints must be (images={n}, parts={p}, 2), got {self.keypoints.shape}"
            )
        if len(self.names) != n:
            raise DataError(f"need {n} names, got {len(self.names)}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return f"LabeledImages({len(self)} images, parts={self.parts})"

    def image(self, i: int) -> np.ndarray:
        """Image ``i`` as ``(H, W, 3)`` uint8 RGB (read from disk when stored as a path)."""
        im = self.images[i]
        if isinstance(im, np.ndarray):
            if im.ndim != 3 or im.shape[2] != 3 or im.dtype != np.uint8:
                raise DataError(f"image {i} must be (H, W, 3) uint8 RGB, got {im.shape} {im.dtype}")
            return im
        return read_rgb(im)

    def image_size(self, i: int) -> tuple[int, int]:
        """``(width, height)`` of image ``i`` in pixels; a file's from its header, not decoded."""
        im = self.images[i]
        if isinstance(im, np.ndarray):
            return int(im.shape[1]), int(im.shape[0])
        try:
            with Image.open(im) as opened:
                return opened.size
        except (OSError, ValueError) as error:
            raise DataError(f"cannot read image {im}: {error}") from error

    def load(self) -> LabeledImages:
        """A copy with every image read into memory."""
        return LabeledImages([self.image(i) for i in range(len(self))], self.keypoints.copy(),
                             self.parts, self.names)

    def subset(self, indices: Sequence[int] | np.ndarray) -> LabeledImages:
        """The images at ``indices`` (in that order)."""
        idx = np.asarray(indices, dtype=int)
        return LabeledImages([self.images[i] for i in idx], self.keypoints[idx].copy(),
                             self.parts, [self.names[i] for i in idx])

    def split(self, test_fraction: float = 0.2, seed: int = 0) -> tuple[LabeledImages, LabeledImages]:
        """Fixed random train/test split: the same ``seed`` gives the same split.

        The test set has ``round(test_fraction * N)`` images (at least one when N >= 2).
        """
        if not 0 < test_fraction < 1:
            raise DataError(f"test_fraction must be in (0, 1), got {test_fraction}")
        n = len(self)
        if n < 2:
            raise DataError(f"need at least 2 images to split, got {n}")
        n_test = min(max(1, round(test_fraction * n)), n - 1)
        order = np.random.default_rng(seed).permutation(n)
        return self.subset(np.sort(order[n_test:])), self.subset(np.sort(order[:n_test]))

    def data_hash(self) -> str:
        """sha256 (first 16 hex digits) of the names and keypoints: identifies a training set."""
        h = hashlib.sha256()
        h.update("\n".join(self.parts).encode())
        h.update("\n".join(self.names).encode())
        h.update(np.ascontiguousarray(np.round(self.keypoints, 4)).tobytes())
        return h.hexdigest()[:16]

    @classmethod
    def from_label_dataset(cls, ds: xr.Dataset, root: str | os.PathLike, *, animal: str | int = 0) -> LabeledImages:
        """From a labels Dataset (``Project.labels_dataset``, ``LabelStore.to_dataset``, a
        DeepLabCut label file read with :func:`poselab.io.read_deeplabcut`).

        Parameters
        ----------
        ds
            A labels Dataset: ``position`` (animal, part, image, coord) in pixels, rows along
            ``image``, whose index holds each image's path relative to ``root``.
        root
            The folder the image paths are relative to (a project folder).
        animal
            The animal whose keypoints are used (index or name; default the first).

        Returns
        -------
        LabeledImages
            One entry per image with at least one labeled part, in the Dataset's order; images
            are read from disk on demand.
        """
        if not poses.is_labels(ds):
            raise DataError(
                "needs a labels Dataset with rows along 'image' (project.labels_dataset(), or "
                f"read_deeplabcut of a label file); got dims {tuple(ds.dims)}"
            )
        pos = ds["position"]
        pos = pos.isel(animal=animal) if isinstance(animal, int) else pos.sel(animal=animal)
        kp = pos.transpose("image", "part", "coord").sel(coord=["x", "y"]).to_numpy().astype(float)
        names = [str(v) for v in ds["image"].to_numpy()]
        keep = np.isfinite(kp).all(-1).any(-1)
        root = Path(root)
        return cls([root / n for n, k in zip(names, keep) if k], kp[keep],
                   [str(p) for p in ds["part"].to_numpy()], [n for n, k in zip(names, keep) if k])

    @classmethod
    def from_deeplabcut(cls, path: str | os.PathLike, root: str | os.PathLike | None = None) -> LabeledImages:
        """From a DeepLabCut ``CollectedData_<scorer>.h5`` or ``.csv`` (the first individual).

        The file is read with :func:`poselab.io.read_deeplabcut` (either index form: one path
        column or the path split over three columns). Every image is kept, labeled or not.

        Parameters
        ----------
        path
            The label file.
        root
            The project folder the image paths in the file are relative to (default: the
            nearest folder above the file under which its first images exist: two levels up
            for DeepLabCut's ``labeled-data/<video>/CollectedData_<scorer>.h5``, the file's
            own folder for Lightning Pose's ``CollectedData.csv``).

        Returns
        -------
        LabeledImages
            Keypoints in pixels of the first individual's parts (a multi-animal file's unique
            parts, under ``single``, are left out), NaN where not labeled.

        Raises
        ------
        DataError
            If the file holds predictions on a video rather than labeled images.
        """
        path = Path(path)
        ds = read_deeplabcut(path)
        if not poses.is_labels(ds):
            raise DataError(f"{path}: its rows are video frames, not labeled images: not a label file")
        names = [str(v) for v in ds["image"].values]
        root = _image_root(path, names) if root is None else Path(root)
        pairs = column_pairs(ds)
        first = pairs[0][0]
        parts = [p for a, p in pairs if a == first]
        kp = ds["position"].sel(animal=first, part=parts, coord=["x", "y"]).transpose("image", "part", "coord")
        return cls([root / n for n in names], kp.to_numpy().astype(float), parts, names)


def _image_root(label_file: Path, names: list[str]) -> Path:
    """The nearest folder above ``label_file`` under which its first images exist; when none
    is found, where the file's tool puts them (DeepLabCut: two levels up from
    ``labeled-data/<video>/``; otherwise the file's folder), and reading an image will say
    which path is missing."""
    probe = names[:3]
    for folder in label_file.resolve().parents:
        if probe and all((folder / n).is_file() for n in probe):
            return folder
    if label_file.parent.parent.name == "labeled-data":
        return label_file.parents[2]
    return label_file.parent


@dataclass
class LabelGeometry:
    """What the labels say about a project's images (see :func:`label_geometry`).

    Attributes
    ----------
    image_long_side_px : float
        Median over images of the longer image side, pixels.
    animal_extent_px : float
        90th percentile over images of the longer side of the box around the labeled
        points, pixels.
    orientation_concentration : float
        How much the labeled poses keep one heading, 0 (every way) to 1 (always the same):
        per part, the mean resultant length of its direction from the labeled points' centroid
        over images; the median over parts.
    n_images : int
        Images with at least one labeled point.
    """

    image_long_side_px: float
    animal_extent_px: float
    orientation_concentration: float
    n_images: int

    @property
    def heading_spread_deg(self) -> float:
        """Circular standard deviation of the heading, degrees: sqrt(-2 ln concentration)."""
        return float(np.degrees(np.sqrt(-2 * np.log(max(self.orientation_concentration, 1e-9)))))


def label_geometry(data: LabeledImages) -> LabelGeometry:
    """Image size, animal size and heading spread of a labeled image set (image sizes from the
    files' headers: nothing is decoded)."""
    kp = np.asarray(data.keypoints, float)
    visible = np.isfinite(kp).all(-1)
    used = np.flatnonzero(visible.any(1))
    if used.size == 0:
        raise ValueError("no labeled point in the data: nothing to learn the geometry from")
    long_sides = [max(data.image_size(int(i))) for i in used]
    boxes = np.nanmax(kp[used], axis=1) - np.nanmin(kp[used], axis=1)  # (n, 2)
    extent = float(np.percentile(np.max(boxes, axis=1), 90))
    centroid = np.nanmean(kp[used], axis=1, keepdims=True)
    offset = kp[used] - centroid
    angle = np.arctan2(offset[..., 1], offset[..., 0])  # (n, P), NaN where not labeled
    enough = visible[used].sum(1) >= 3  # the centroid of two points says little about heading
    concentrations = []
    for part in range(kp.shape[1]):
        a = angle[enough & visible[used, part], part]
        if a.size >= 5:
            concentrations.append(float(np.abs(np.mean(np.exp(1j * a)))))
    concentration = float(np.median(concentrations)) if concentrations else 0.0
    return LabelGeometry(float(np.median(long_sides)), extent, concentration, int(used.size))
