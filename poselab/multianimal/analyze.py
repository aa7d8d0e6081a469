"""Multi-animal video analysis: network -> peaks -> assembly -> tracking -> pose Dataset."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from poselab.io.video import VideoReader
from poselab.multianimal.assembly import assemble
from poselab.multianimal.model import MultiAnimalModel
from poselab.multianimal.peaks import find_peaks
from poselab.multianimal.tracking import TrackingConfig, track

__all__ = ["detect_animals", "decode_maps", "analyze_multianimal"]


def detect_animals(
    model: MultiAnimalModel,
    frames: np.ndarray | Sequence[np.ndarray],
    **decoding: Any,
) -> list[np.ndarray]:
    """Every animal's pose in each frame (no identities): peaks assembled along the fields.

    Parameters
    ----------
    model
        A trained :class:`~poselab.multianimal.MultiAnimalModel`.
    frames
        ``(B, H, W, 3)`` uint8 RGB frames of one size.
    **decoding
        Peak finding and assembly settings of :func:`decode_maps` (``threshold``,
        ``nms_radius``, ``top_k``, ``min_affinity``, ``min_parts``, ``max_individuals``).

    Returns
    -------
    list of numpy.ndarray
        Per frame ``(n_found, P, 3)``: x, y in image pixels and the peak score.
    """
    scores, locref, pafs = model.maps(np.asarray(frames))
    return decode_maps(model, scores, locref, pafs, **decoding)


def decode_maps(
    model: MultiAnimalModel,
    scores,
    locref,
    pafs,
    *,
    threshold: float = 0.25,
    nms_radius: int = 1,
    top_k: int = 16,
    min_affinity: float = 0.1,
    min_parts: int = 3,
    max_individuals: int | None = None,
) -> list[np.ndarray]:
    """Poses from the network's maps (:meth:`MultiAnimalModel.maps`): peaks, then assembly.

    Split from :func:`detect_animals` so that decoding settings can be compared on maps
    computed once.

    Parameters
    ----------
    model
        The :class:`~poselab.multianimal.MultiAnimalModel` that computed the maps (its card
        gives the stride, the skeleton and the limbs' ``max_length`` in image pixels).
    scores, locref, pafs
        Probabilities ``(B, P, h, w)``, offsets ``(B, P, 2, h, w)`` and fields
        ``(B, L, 2, h, w)``, torch or numpy.
    threshold, nms_radius, top_k
        Peak finding (:func:`poselab.multianimal.find_peaks`; radius in output cells).
    min_affinity, min_parts, max_individuals
        Assembly (:func:`poselab.multianimal.assemble`).

    Returns
    -------
    list of numpy.ndarray
        Per frame ``(n_found, P, 3)``: x, y in image pixels and the peak score.
    """
    cands = find_peaks(scores, locref, model.stride, threshold=threshold, nms_radius=nms_radius,
                       top_k=top_k, locref_std=model.card["locref_std"])
    pafs = pafs.cpu().numpy() if hasattr(pafs, "cpu") else np.asarray(pafs)
    limit = model.max_length
    limit = None if limit is None else limit * model.scale  # a length: network pixels
    out = []
    for b in range(cands.n_frames):
        found = assemble(cands.frame(b), pafs[b], model.stride, paf_graph=model.skeleton,
                         min_affinity=min_affinity, min_parts=min_parts,
                         max_individuals=max_individuals, max_length=limit)
        found[..., :2] = model.to_image_pixels(found[..., :2])
        out.append(found)
    return out


def analyze_multianimal(
    model: MultiAnimalModel,
    video: str | os.PathLike,
    n_animals: int,
    *,
    frames: tuple[int, int] | None = None,
    batch_size: int = 8,
    animals: Sequence[str] | None = None,
    decoding: dict[str, Any] | None = None,
    tracking: TrackingConfig | None = None,
    progress: bool = True,
    return_assemblies: bool = False,
) -> xr.Dataset | tuple[xr.Dataset, list[np.ndarray]]:
    """Track ``n_animals`` in a video: detect and assemble every frame, then link and stitch.

    Parameters
    ----------
    model
        A trained :class:`~poselab.multianimal.MultiAnimalModel`.
    video
        The video file.
    n_animals
        Number of animals (identities) in the video.
    frames
        ``(start, stop)`` frame range, stop exclusive (default the whole video).
    batch_size
        Frames per forward pass.
    animals
        Identity names (default ``animal0..``).
    decoding
        Peak finding and assembly settings for :func:`detect_animals` (``threshold``,
        ``min_affinity``...).
    tracking
        Linking and stitching settings (:class:`poselab.multianimal.TrackingConfig`).
    progress
        Show a progress bar.
    return_assemblies
        Also return the per-frame assemblies (identity-free, image pixels).

    Returns
    -------
    xarray.Dataset
        Pose Dataset ``(animal=n_animals, part, frame, coord)`` in image pixels; likelihood =
        peak score; frames undecodable in the video are NaN.
    """
    from tqdm.auto import tqdm


    decoding = {"max_individuals": None, **(decoding or {})}
    found: list[np.ndarray] = []
    n_parts = len(model.parts)
    with VideoReader(video) as reader:
        info = reader.info
        start, stop = (0, info.n_frames) if frames is None else (int(frames[0]), int(frames[1]))
        stop = min(stop, info.n_frames)
        indices = np.arange(start, stop)
        bar = tqdm(total=len(indices), disable=not progress, desc="analyze", unit="frame")
        for batch in reader.iter_batches(batch_size, start, stop):
            got = detect_animals(model, batch.frames, **decoding)
            for ok, a in zip(batch.valid, got):
                found.append(a if ok else np.full((0, n_parts, 3), np.nan))
            bar.update(len(batch.indices))
        bar.close()
    ds = track(found, n_animals, tracking, parts=model.parts, animals=animals, frames=indices,
               fps=info.fps, video=Path(video).name, width=info.width, height=info.height,
               source=f"poselab multi-animal ({model.card['backbone']})")
    return (ds, found) if return_assemblies else ds
