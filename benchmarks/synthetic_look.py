"""How much the coloured synthetic look flatters a model: the demo's chain on both looks.

    python benchmarks/synthetic_look.py [--seeds 11 12] [--minutes 3] [--labeled 30]

For each seed (none of them used to tune anything), the same synthetic world is rendered twice,
with ``appearance="coloured"`` (each kind of part in a colour of its own) and ``"fur"`` (as
real mice look); on each, as the demo does: k-means picks the frames to label, they are labeled
from the truth, the demo's recipe trains for a fixed budget, the whole video is analyzed, and
the error against the truth is measured over all visible points (median and 90th percentile,
paws apart). The last line is ``fur_paw_p90_px: <mean over seeds of the fur look's paw 90th
percentile>``.
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

from poselab.datasets import SYNTHETIC_FLIP_PAIRS, SYNTHETIC_PARTS, SYNTHETIC_PAWS, synthetic  # noqa: E402
from poselab.inference import analyze_video  # noqa: E402
from poselab.model import Recipe, TrainConfig, fit  # noqa: E402
from poselab.model.recipe import project_images  # noqa: E402
from poselab.project import Project  # noqa: E402


def label_from_truth(project: Project, truth, images: list[str]) -> None:
    """Label ``images`` of a one-animal project from a synthetic world's truth, as a person would
    in the labeling widget: the visible parts only."""
    records = {r.image: r for r in project.labels.images()}
    for image in images:
        frame = records[image].frame
        xy = truth["position"].isel(animal=0).sel(frame=frame).values
        seen = truth["visible"].isel(animal=0).sel(frame=frame).values
        project.labels.set_points(image, {(project.animals[0], p): tuple(q)
                                          for p, q, v in zip(SYNTHETIC_PARTS, xy, seen) if v})


def train_on_world(folder: Path, seed: int, appearance: str, args: argparse.Namespace):
    """Render a world, label ``args.labeled`` k-means frames from its truth, train the demo's
    recipe for ``args.minutes``; returns the model and the world."""
    world = synthetic(folder / "mouse.mp4", n_frames=args.frames, seed=seed, appearance=appearance)
    truth = world.poses
    project = Project.create(folder / "project", parts=list(SYNTHETIC_PARTS),
                             flip_pairs=[list(p) for p in SYNTHETIC_FLIP_PAIRS], videos=[world.video])
    images = project.select_frames(n=args.labeled, method="kmeans", seed=seed)
    label_from_truth(project, truth, images)
    recipe = Recipe(scale=0.5, input_size=192, train=TrainConfig(  # the demo's recipe
        minutes=args.minutes, batch_size=8, lr=2e-3, eval_every=100, split_seed=seed, seed=seed,
        progress=False))
    trained = fit(project_images(project), recipe, flip_pairs=project.config.flip_pairs)
    project.close()
    trained.model.card["epochs_trained"] = len(trained.history.records)
    trained.model.card["test_rmse_px"] = float(trained.result["rmse_px"])
    return trained.model, world


def run_world(folder: Path, seed: int, appearance: str, args: argparse.Namespace) -> dict:
    model, world = train_on_world(folder, seed, appearance, args)
    path = model.save(folder / "model.safetensors")
    predicted = analyze_video(path, world.video, progress=False)
    truth = world.poses
    error = np.linalg.norm(predicted["position"].values - truth["position"].values, axis=-1)[0]
    visible = truth["visible"].values[0]
    paws = np.isin(SYNTHETIC_PARTS, SYNTHETIC_PAWS)[:, None] & visible
    body = ~np.isin(SYNTHETIC_PARTS, SYNTHETIC_PAWS)[:, None] & visible
    row = {"seed": seed, "appearance": appearance, "epochs": model.card["epochs_trained"],
           "test_rmse_px": round(model.card["test_rmse_px"], 2),
           "paw_median_px": round(float(np.nanmedian(error[paws])), 2),
           "paw_p90_px": round(float(np.nanpercentile(error[paws], 90)), 2),
           "body_median_px": round(float(np.nanmedian(error[body])), 2),
           "body_p90_px": round(float(np.nanpercentile(error[body], 90)), 2)}
    print(json.dumps(row), flush=True)
    return row


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[11, 12])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--labeled", type=int, default=30)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for appearance in ("coloured", "fur"):
                rows.append(run_world(Path(tmp) / f"{appearance}-{seed}", seed, appearance, args))
    fur = float(np.mean([r["paw_p90_px"] for r in rows if r["appearance"] == "fur"]))
    print(f"fur_paw_p90_px: {fur:.2f}")
    return fur


if __name__ == "__main__":
    main()
