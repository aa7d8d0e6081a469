"""Multi-animal video analysis: network -> peaks -> assembly -> tracking -> pose Dataset."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from poselab.inference import AnalysisOptions, MultiAnimalOptions, analyze_video
from poselab.multianimal.model import MultiAnimalModel

__all__ = ["analyze_multianimal", "decode_maps", "detect_animals"]


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
    found = model.assemble_maps(scores, locref, pafs, threshold=threshold, nms_radius=nms_radius,
                                top_k=top_k, min_affinity=min_affinity, min_parts=min_parts,
                                max_individuals=max_individuals)
    for animals in found:
        animals[..., :2] = model.to_image_pixels(animals[..., :2])
    return found


def analyze_multianimal(
    model: MultiAnimalModel,
    video: str | os.PathLike,
    n_animals: int,
    options: AnalysisOptions | None = None,
    *,
    out: str | os.PathLike | None = None,
    frames: tuple[int, int] | None = None,
    progress: bool = True,
    **settings: Any,
) -> xr.Dataset:
    """Track ``n_animals`` in a video: find every frame's animals, then link and stitch them.

    :func:`poselab.analyze_video` with ``animals=MultiAnimalOptions(n_animals, ...)``: the same
    engine as for one animal (frames decoded ahead in a thread, memory bounded whatever the
    video's length, chunks checkpointed beside ``out`` so a killed job resumes, a progress bar;
    on a Dask cluster with :func:`poselab.analyze_videos`).

    Parameters
    ----------
    model
        A trained :class:`~poselab.multianimal.MultiAnimalModel`.
    video
        The video file.
    n_animals
        Number of animals (identities) in the video.
    options
        :class:`poselab.inference.AnalysisOptions` (``batch_size``, ``crop``, ``downscale``,
        ``chunk_frames``); each may also be given as a keyword.
    out
        Where to save the result (``.nc`` or ``.zarr``); the frames' detections stay in
        ``<out>.detections/``: a killed job resumes from them, and a rerun with another
        ``tracking`` re-links them without the network.
    frames
        ``(start, stop)`` frame range, stop exclusive (default the whole video).
    progress
        Show a progress bar.
    **settings
        ``animals`` (identity names, default ``animal0..``), ``decoding`` (peak finding and
        assembly settings, :data:`poselab.multianimal.DECODING`) and ``tracking`` (linking and
        stitching, :class:`poselab.multianimal.TrackingConfig`): the fields of
        :class:`~poselab.inference.MultiAnimalOptions`; the rest as :func:`poselab.analyze_video`
        takes them (:class:`~poselab.inference.AnalysisOptions` fields, ``device``, ``resume``,
        ``resources``).

    Returns
    -------
    xarray.Dataset
        Pose Dataset ``(animal=n_animals, part, frame, coord)`` in image pixels; likelihood =
        peak score; frames undecodable in the video are NaN.
    """
    names, decoding, tracking = (settings.pop(k, None) for k in ("animals", "decoding", "tracking"))
    many = MultiAnimalOptions(n_animals, None if names is None else tuple(names), decoding, tracking)
    return analyze_video(model, video, options, out=out, frames=frames, progress=progress, animals=many,
                         **settings)
