"""Frames with every animal's keypoints, for training the multi-animal model."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xarray as xr

from poselab.core import poses
from poselab.io.video import VideoReader
from poselab.model.data import read_rgb
from poselab.multianimal.assembly import AssemblyError

__all__ = ["MultiAnimalImages"]


@dataclass
class MultiAnimalImages:
    """Frames with every animal's keypoints.

    Attributes
    ----------
    images : list of numpy.ndarray
        ``(H, W, 3)`` uint8 RGB frames.
    keypoints : numpy.ndarray
        ``(N, A, P, 2)`` x, y in image pixels, NaN where a part (or a whole animal) is not
        labelled.
    parts : list of str
    names : list of str
        One name per image.
    """

    images: list[np.ndarray]
    keypoints: np.ndarray
    parts: list[str]
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.images = list(self.images)
        self.keypoints = np.asarray(self.keypoints, float)
        self.parts = [str(p) for p in self.parts]
        self.names = [str(n) for n in self.names] or [f"image{i}" for i in range(len(self.images))]
        n = len(self.images)
        if self.keypoints.ndim != 4 or self.keypoints.shape[0] != n or \
                self.keypoints.shape[2] != len(self.parts) or self.keypoints.shape[3] != 2:
            raise AssemblyError(
                f"keypoints must be (images={n}, animals, parts={len(self.parts)}, 2); "
                f"got {self.keypoints.shape}"
            )
        if len(self.names) != n:
            raise AssemblyError(f"need {n} names, got {len(self.names)}")

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"MultiAnimalImages({len(self)} images, {self.keypoints.shape[1]} animals, "
                f"parts={self.parts})")

    def data_hash(self) -> str:
        """sha256 (16 hex digits) of names and keypoints: identifies a training set."""
        h = hashlib.sha256()
        h.update("\n".join(self.parts + self.names).encode())
        h.update(np.ascontiguousarray(np.round(self.keypoints, 4)).tobytes())
        return h.hexdigest()[:16]

    @classmethod
    def concat(cls, sets: Sequence[MultiAnimalImages]) -> MultiAnimalImages:
        """One training set from several (videos, sessions, worlds of other coats).

        Parameters
        ----------
        sets
            Sets with the same parts in the same order; their animal counts may differ.

        Returns
        -------
        MultiAnimalImages
            Every image in order; sets with fewer animals are padded with unlabelled (NaN)
            animals up to the largest count, which training reads as "no animal there".
        """
        sets = list(sets)
        if not sets:
            raise AssemblyError("concat needs at least one MultiAnimalImages")
        parts = sets[0].parts
        for other in sets[1:]:
            if other.parts != parts:
                raise AssemblyError(
                    f"every set must have the parts {parts} in this order; got {other.parts}"
                )
        names = [n for s in sets for n in s.names]
        if len(set(names)) != len(names):
            raise AssemblyError("image names repeat across the sets; give each image a unique name")
        n_animals = max(s.keypoints.shape[1] for s in sets)
        keypoints = np.concatenate([
            np.pad(s.keypoints, ((0, 0), (0, n_animals - s.keypoints.shape[1]), (0, 0), (0, 0)),
                   constant_values=np.nan)
            for s in sets
        ])
        return cls([im for s in sets for im in s.images], keypoints, parts, names)

    @classmethod
    def from_video(
        cls, video: str | os.PathLike, ds: xr.Dataset, frames: Sequence[int] | np.ndarray
    ) -> MultiAnimalImages:
        """Frames of ``video`` with the poses of ``ds`` (e.g. a synthetic world's truth).

        Parts outside the image become NaN; ``ds`` has ``position (animal, part, frame, coord)``.
        """
        wanted = np.unique(np.asarray(frames, dtype=np.int64))
        pos = ds["position"].sel(frame=wanted).transpose("frame", "animal", "part", "coord")
        kp = np.asarray(pos.values, float)[..., :2].copy()
        images, names = [], []
        with VideoReader(video) as reader:
            h, w = reader.info.height, reader.info.width
            for index, image in reader.iter_frames_at(wanted):
                images.append(image)
                names.append(f"{Path(video).name}:{index}")
        if len(images) != len(wanted):
            raise AssemblyError(f"{video}: only {len(images)} of {len(wanted)} frames decoded")
        outside = (kp[..., 0] < 0) | (kp[..., 1] < 0) | (kp[..., 0] > w - 1) | (kp[..., 1] > h - 1)
        kp[outside] = np.nan
        return cls(images, kp, [str(p) for p in ds["part"].values], names)

    @classmethod
    def from_label_dataset(cls, ds: xr.Dataset, root: str | os.PathLike) -> MultiAnimalImages:
        """From a multi-animal labels Dataset (``Project.labels_dataset``, DeepLabCut labels).

        Parameters
        ----------
        ds
            A labels Dataset: ``position`` (animal, part, image, coord) in pixels, rows along
            ``image``, whose index holds each image's path relative to ``root``.
        root
            The folder the image paths are relative to.

        Returns
        -------
        MultiAnimalImages
            The images with at least one labelled part (read into memory). A DeepLabCut
            ``single`` animal (unique parts) is left out.
        """
        if not poses.is_labels(ds):
            raise AssemblyError(
                "needs a labels Dataset with rows along 'image' (project.labels_dataset(), or "
                f"read_deeplabcut of a label file); got dims {tuple(ds.dims)}"
            )
        animals = [a for a in ds["animal"].values if str(a) != "single"]
        pos = ds["position"].sel(animal=animals).transpose("image", "animal", "part", "coord")
        kp = np.asarray(pos.values, float)[..., :2]
        keep = np.isfinite(kp).all(-1).any(axis=(1, 2))
        names = [str(n) for n, k in zip(ds["image"].values, keep) if k]
        images = [read_rgb(Path(root) / n) for n in names]
        return cls(images, kp[keep], [str(p) for p in ds["part"].values], names)
