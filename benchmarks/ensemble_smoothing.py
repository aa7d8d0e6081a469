"""Test-time ensembles and the ensemble Kalman smoother on a synthetic video (issue 14, first look).

    python benchmarks/ensemble_smoothing.py [--seed 11] [--minutes 3] [--appearance fur]

One world (a seed used for nothing else), the demo's chain to a trained model (30 frames chosen
by k-means and labeled from the truth, the demo's recipe for a fixed budget), then the whole
video predicted by the model as is and on mirrored frames (mapped back, left and right parts
swapped): two members. Scored against the truth over all visible points, paws apart: the plain
prediction; the flip-averaged one (scoremaps averaged: ``flip_test``); ``kalman_smooth`` of the
plain one; ``ensemble_kalman_smooth`` of the two members. The last line is
``eks_paw_p90_px: <paw 90th-percentile error after the ensemble smoother>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from poselab.analysis import filters  # noqa: E402
from poselab.core import poses  # noqa: E402
from poselab.datasets import SYNTHETIC_PARTS, SYNTHETIC_PAWS  # noqa: E402
from poselab.io.video import VideoReader  # noqa: E402

sys.path.insert(0, str(REPO / "benchmarks"))
from synthetic_look import train_on_world  # noqa: E402


def members(model, video: Path) -> tuple[np.ndarray, ...]:
    """Plain, mirrored and flip-averaged predictions ``(part, frame, xy)`` and likelihoods."""
    with VideoReader(video) as reader:
        rgb = np.concatenate([b.frames for b in reader.iter_batches(64)])
    plain, plain_lik = model.predict(rgb, flip_test=False)
    width = rgb.shape[2]
    mirrored, mirrored_lik = model.predict(rgb[:, :, ::-1].copy(), flip_test=False)
    perm = list(range(len(model.parts)))
    for a, b in model.card["flip_pairs"]:
        perm[a], perm[b] = b, a
    mirrored = mirrored[:, perm]
    mirrored_lik = mirrored_lik[:, perm]
    mirrored[..., 0] = width - 1 - mirrored[..., 0]
    averaged, averaged_lik = model.predict(rgb, flip_test=True)
    return plain, plain_lik, mirrored, mirrored_lik, averaged, averaged_lik


def score(name: str, xy: np.ndarray, truth, visible: np.ndarray) -> dict:
    error = np.linalg.norm(xy - truth, axis=-1)  # (frame, part)
    paws = np.isin(SYNTHETIC_PARTS, SYNTHETIC_PAWS)[None, :] & visible
    body = ~np.isin(SYNTHETIC_PARTS, SYNTHETIC_PAWS)[None, :] & visible
    row = {"method": name,
           "paw_median_px": round(float(np.nanmedian(error[paws])), 2),
           "paw_p90_px": round(float(np.nanpercentile(error[paws], 90)), 2),
           "paw_p99_px": round(float(np.nanpercentile(error[paws], 99)), 2),
           "body_median_px": round(float(np.nanmedian(error[body])), 2),
           "body_p90_px": round(float(np.nanpercentile(error[body], 90)), 2)}
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--labeled", type=int, default=30)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--appearance", default="fur", choices=["fur", "coloured"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        model, world = train_on_world(Path(tmp), args.seed, args.appearance, args)
        plain, plain_lik, mirrored, mirrored_lik, averaged, _ = members(model, world.video)
    truth = world.poses["position"].values[0].transpose(1, 0, 2)  # (frame, part, xy)
    visible = world.poses["visible"].values[0].T
    fps = float(world.poses.attrs["fps"])

    def dataset(xy, lik):
        return poses.from_arrays(xy.transpose(1, 0, 2)[None], lik.T[None], parts=list(SYNTHETIC_PARTS), fps=fps)

    rows = [score("plain", plain, truth, visible),
            score("flip-averaged scoremaps", averaged, truth, visible)]
    smooth = filters.kalman_smooth(dataset(plain, plain_lik))
    rows.append(score("kalman_smooth(plain)", smooth["position"].values[0].transpose(1, 0, 2), truth, visible))
    eks = filters.ensemble_kalman_smooth([dataset(plain, plain_lik), dataset(mirrored, mirrored_lik)])
    rows.append(score("ensemble_kalman_smooth(plain, mirrored)", eks["position"].values[0].transpose(1, 0, 2),
                      truth, visible))
    print(f"eks_paw_p90_px: {rows[-1]['paw_p90_px']:.2f}")
    return rows[-1]["paw_p90_px"]


if __name__ == "__main__":
    main()
