"""Multi-animal pose: candidate peaks, PAF assembly, identity tracking and metrics.

Short API::

    from poselab import multianimal as ma
    cands = ma.find_peaks(scoremaps, locref, stride=8)        # (B, P, K) candidates, pixels
    skeleton = ma.skeleton_from_labels(labels, n_limbs=22)     # limbs from multi-animal labels
    limits = ma.limb_length_limits(labels, skeleton)           # longest plausible limbs, px
    frames = ma.assemble_batch(cands, pafs, stride=8, skeleton=skeleton, max_length=limits)
    ds = ma.track(frames, n_animals=3, parts=parts, fps=30)    # pose Dataset, animal = identity
    ds = ma.swap_identities(ds, "animal0", "animal2", from_frame=1200)   # a manual fix
    checks = ma.identity_checkpoints(ds)   # frames where animals part: review these for swaps
    ma.tracking_metrics(truth, ds)["idf1"], ma.average_precision(truth, ds)["mAP"]

Training and analysis of videos::

    model = ma.create_multianimal_model(parts, skeleton, scale=0.5, max_length=limits)
    data = ma.MultiAnimalImages.from_label_dataset(store.to_dataset(), root=project_folder)
    ma.train_multianimal(model, data, minutes=10, out_dir="models/ma")
    ds = ma.analyze_multianimal(model, "video.mp4", n_animals=3)  # network -> ... -> Dataset
    ds = poselab.analyze_video(model, "video.mp4", animals=3, out="poses.nc")   # the same: streamed,
    # checkpointed (a killed job resumes), on Dask with poselab.analyze_videos(..., client=client)

DeepLabCut's multi-animal tracks read with :func:`read_deeplabcut_tracks`; its channels-last
network outputs convert with :func:`from_deeplabcut_outputs`.
"""

from __future__ import annotations

from poselab.inference import MultiAnimalOptions
from poselab.io.deeplabcut_tracks import find_dlc_video, read_deeplabcut_tracks
from poselab.multianimal.analyze import analyze_multianimal, decode_maps, detect_animals
from poselab.multianimal.appearance import (
    AppearanceEmbedding,
    AppearanceError,
    describe,
    embedding_loss,
    learn_appearance,
)
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
from poselab.multianimal.data import MultiAnimalImages
from poselab.multianimal.metrics import (
    COCO_THRESHOLDS,
    MetricsError,
    average_precision,
    oks,
    tracking_metrics,
)
from poselab.multianimal.model import (
    DECODING,
    MultiAnimalModel,
    create_multianimal_model,
    load_multianimal_model,
)
from poselab.multianimal.network import (
    PafPoseNet,
    identity_labels,
    identity_targets,
    multi_animal_targets,
    paf_targets,
)
from poselab.multianimal.peaks import Candidates, PeakError, find_peaks, from_deeplabcut_outputs
from poselab.multianimal.simulate import encounters, simulate_detector
from poselab.multianimal.tracking import (
    TrackingConfig,
    TrackingError,
    Tracklet,
    assign_identities,
    identity_checkpoints,
    link_tracklets,
    pose_distance,
    stitch,
    swap_identities,
    track,
)
from poselab.multianimal.train import (
    MultiAnimalHistory,
    identity_loss,
    multi_animal_loss,
    train_multianimal,
)

__all__ = [
    "AppearanceEmbedding",
    "AppearanceError",
    "AssemblyError",
    "COCO_THRESHOLDS",
    "DECODING",
    "Candidates",
    "MetricsError",
    "MultiAnimalHistory",
    "MultiAnimalImages",
    "MultiAnimalModel",
    "MultiAnimalOptions",
    "PafPoseNet",
    "PeakError",
    "TrackingConfig",
    "TrackingError",
    "Tracklet",
    "all_pairs",
    "analyze_multianimal",
    "assemble",
    "assemble_batch",
    "assign_identities",
    "average_precision",
    "create_multianimal_model",
    "decode_maps",
    "describe",
    "detect_animals",
    "embedding_loss",
    "encounters",
    "find_dlc_video",
    "find_peaks",
    "from_deeplabcut_outputs",
    "identity_checkpoints",
    "identity_labels",
    "identity_loss",
    "identity_targets",
    "learn_appearance",
    "limb_affinity",
    "limb_length_limits",
    "link_tracklets",
    "load_multianimal_model",
    "multi_animal_loss",
    "multi_animal_targets",
    "oks",
    "paf_targets",
    "pose_distance",
    "read_deeplabcut_tracks",
    "render_pafs",
    "simulate_detector",
    "skeleton_from_labels",
    "stitch",
    "swap_identities",
    "track",
    "tracking_metrics",
    "train_multianimal",
]
