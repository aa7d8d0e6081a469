"""Write the Lightning Pose files the tests read, with Lightning Pose's and EKS's own code.

    python tests/io/data/lightning_pose/make_files.py

Needs ``lightning-pose`` (2.4.3 made the files here) and ``ensemble-kalman-smoother`` (4.6.2),
which poselab does not depend on: run it in an environment of its own. The predictions go
through ``lightning_pose.utils.predictions.PredictionHandler`` and ``DataFrame.to_csv`` as in
``predict_single_video`` / ``predict_dataset``; the smoothed files are written by
``eks.singlecam_smoother.fit_eks_singlecam`` and ``eks.multicam_smoother.fit_eks_multicam``.
``truth.npz`` keeps the numbers handed to Lightning Pose, which the tests compare with what
poselab reads.

Files (3 keypoints, 40 frames; views ``top`` and ``bot``):

- ``video_heatmap.csv``: one view, a video, the ``heatmap`` model (frames 0..39);
- ``video_mhcrnn.csv``: the same for the context model (``heatmap_mhcrnn``: Lightning Pose shifts
  the predictions by two frames and pads the ends);
- ``multiview_video_top.csv``, ``multiview_video_bot.csv``: a multi-view model on two videos;
- ``labeled_top.csv``, ``labeled_bot.csv``: predictions on labeled frames (image paths as the
  index, and a ``set`` column: train / validation / test / unused);
- ``member{0,1,2}_top.csv``, ``..._bot.csv``: an ensemble's members;
- ``eks_singlecam.csv``: EKS over the members of the top view;
- ``eks_multicam/``: EKS over both views (one file per camera).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import torch
from lightning_pose.utils.predictions import PredictionHandler
from omegaconf import OmegaConf

HERE = Path(__file__).parent
KEYPOINTS = ["nose", "paw_l", "paw_r"]
VIEWS = ["top", "bot"]
N_FRAMES = 40


def write_video(path: Path) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (64, 48))
    for i in range(N_FRAMES):
        writer.write(np.full((48, 64, 3), 4 * i, np.uint8))
    writer.release()


def config(model_type: str, views: list[str] | None = None):
    data = {"keypoint_names": KEYPOINTS}
    if views:
        data["view_names"] = views
    return OmegaConf.create({"data": data, "model": {"model_type": model_type}})


def batches(xy: np.ndarray, conf: np.ndarray, size: int = 16):
    """(frames, 2K) and (frames, K) cut into the batches trainer.predict returns."""
    return [(torch.from_numpy(xy[i:i + size]), torch.from_numpy(conf[i:i + size])) for i in range(0, len(xy), size)]


def main() -> None:
    rng = np.random.default_rng(0)
    video = HERE / "video.mp4"
    write_video(video)
    truth: dict[str, np.ndarray] = {}
    k = len(KEYPOINTS)
    # (frames, 2K) as x0, y0, x1, y1...: smooth paths (what a smoother expects), the bottom view
    # an affine image of the top one (what multi-view PCA expects); confidences in (0, 1)
    t = np.arange(N_FRAMES)[:, None]
    top = 30 + 15 * np.sin(2 * np.pi * t / rng.uniform(15, 40, 2 * k) + rng.uniform(0, 2 * np.pi, 2 * k))
    bot = top.copy()
    bot[:, 0::2], bot[:, 1::2] = 0.9 * top[:, 0::2] + 3.0, 50.0 - 0.6 * top[:, 1::2]
    base = {"top": top, "bot": bot}
    conf = {view: rng.uniform(0.05, 1.0, (N_FRAMES, k)) for view in VIEWS}
    truth.update({f"xy_{v}": base[v] for v in VIEWS} | {f"conf_{v}": conf[v] for v in VIEWS})

    single = PredictionHandler(cfg=config("heatmap"), video_file=str(video))
    single(preds=batches(base["top"], conf["top"])).to_csv(HERE / "video_heatmap.csv")
    # the context model's loader yields 2 frames fewer at each end: give it frames 2..39
    context = PredictionHandler(cfg=config("heatmap_mhcrnn"), video_file=str(video))
    context(preds=batches(base["top"][2:], conf["top"][2:])).to_csv(HERE / "video_mhcrnn.csv")

    multi = PredictionHandler(cfg=config("heatmap_multiview", VIEWS), video_file=str(video))
    both_xy = np.concatenate([base[v] for v in VIEWS], axis=1)
    both_conf = np.concatenate([conf[v] for v in VIEWS], axis=1)
    for view, df in multi(preds=batches(both_xy, both_conf), is_multiview_video=True).items():
        df.to_csv(HERE / f"multiview_video_{view}.csv")

    # predictions on labeled frames: a data module's split and image names, per view
    n_labeled = 10
    images = {v: [f"labeled-data/session0_{v}/img{i:03d}.png" for i in range(n_labeled)] for v in VIEWS}
    module = SimpleNamespace(
        dataset=_Views({v: SimpleNamespace(image_names=images[v]) for v in VIEWS}),
        train_dataset=SimpleNamespace(indices=[0, 1, 2, 3, 4, 5]),
        val_dataset=SimpleNamespace(indices=[6, 7]),
        test_dataset=SimpleNamespace(indices=[8]),
    )
    labeled = PredictionHandler(cfg=config("heatmap_multiview", VIEWS), data_module=module)
    out = labeled(preds=batches(both_xy[:n_labeled], both_conf[:n_labeled], size=4))
    for view, df in out.items():
        df.to_csv(HERE / f"labeled_{view}.csv")

    # an ensemble: three members, each the base plus noise, written as Lightning Pose writes them
    members = []
    for m in range(3):
        noisy = {v: base[v] + rng.normal(0, 1.5, base[v].shape) for v in VIEWS}
        truth[f"member{m}_top"] = noisy["top"]
        truth[f"member{m}_bot"] = noisy["bot"]
        for v in VIEWS:
            handler = PredictionHandler(cfg=config("heatmap"), video_file=str(video))
            handler(preds=batches(noisy[v], conf[v])).to_csv(HERE / f"member{m}_{v}.csv")
        members.append(m)
    np.savez(HERE / "truth.npz", **truth)

    from eks.multicam_smoother import fit_eks_multicam
    from eks.singlecam_smoother import fit_eks_singlecam

    fit_eks_singlecam([str(HERE / f"member{m}_top.csv") for m in members], str(HERE / "eks_singlecam.csv"),
                      bodypart_list=KEYPOINTS, smooth_param=1.0)
    eks_dir = HERE / "eks_multicam"
    shutil.rmtree(eks_dir, ignore_errors=True)
    eks_dir.mkdir()
    fit_eks_multicam({v: [str(HERE / f"member{m}_{v}.csv") for m in members] for v in VIEWS}, str(eks_dir),
                     bodypart_list=KEYPOINTS, smooth_param=1.0, camera_names=VIEWS, n_latent=3)
    video.unlink()


class _Views:
    """A multi-view data module's dataset as Lightning Pose reads it: ``dataset.dataset[view]
    .image_names``, ``len(dataset)`` and ``do_context``."""

    def __init__(self, views: dict):
        self.dataset = views
        self.do_context = False

    def __len__(self) -> int:
        return len(next(iter(self.dataset.values())).image_names)


if __name__ == "__main__":
    main()
