"""Multi-animal pose: candidate peaks, PAF assembly, identity tracking and metrics.

Short API::

    from poselab.multianimal import find_peaks, assemble_batch, track, tracking_metrics
    cands = find_peaks(scoremaps, locref, stride=8)            # (B, P, K) candidates, pixels
    frames = assemble_batch(cands, pafs, stride=8)             # per frame (n, P, 3)
    ds = track(frames, n_animals=3, parts=parts, fps=30)       # pose Dataset, animal = identity
    tracking_metrics(truth, ds)["idf1"]
"""

from __future__ import annotations

from poselab.multianimal.assembly import (
    AssemblyError,
    all_pairs,
    assemble,
    assemble_batch,
    limb_affinity,
    limb_length_limits,
    render_pafs,
    skeleton_from_labels,
)
from poselab.multianimal.metrics import (
    COCO_THRESHOLDS,
    MetricsError,
    average_precision,
    oks,
    tracking_metrics,
)
from poselab.multianimal.peaks import Candidates, PeakError, find_peaks, from_deeplabcut_outputs
from poselab.multianimal.tracking import (
    Tracklet,
    TrackingError,
    link_tracklets,
    pose_distance,
    stitch,
    swap_identities,
    track,
)

__all__ = [
    "COCO_THRESHOLDS",
    "AssemblyError",
    "Candidates",
    "MetricsError",
    "PeakError",
    "TrackingError",
    "Tracklet",
    "all_pairs",
    "assemble",
    "assemble_batch",
    "average_precision",
    "find_peaks",
    "from_deeplabcut_outputs",
    "limb_affinity",
    "limb_length_limits",
    "link_tracklets",
    "oks",
    "pose_distance",
    "render_pafs",
    "skeleton_from_labels",
    "stitch",
    "swap_identities",
    "track",
    "tracking_metrics",
]
