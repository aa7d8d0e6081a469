"""The main job, end to end, on built-in demo data: ``python -m poselab.demo --out demo-output``.

1. render a synthetic video with ground truth (``poselab.datasets.synthetic``);
2. create a project with it and choose distinct frames to label (k-means);
3. label them (here from the ground truth, as a user would in the labeling widget);
4. save the labels and the ground truth as pose Datasets, export DeepLabCut labels;
5. train a pose model (timm backbone with ImageNet weights) on the labeled frames;
6. analyze the whole video with it and measure the error against the ground truth;
7. filter the poses, compute speed and gait, and save plots;
8. draw a labeled video of the predictions.

Everything lands in ``out``: ``project/`` (the poselab project, with the model), ``poses.nc``,
``plots/*.png``, ``labeled.mp4`` and ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

import numpy as np

_MARKER = ".poselab-demo"


def run(
    out: str | Path = "demo-output",
    *,
    n_frames: int = 300,
    n_labeled: int = 30,
    seed: int = 0,
    minutes: float = 3.0,
    progress: bool = True,
) -> dict:
    """Run the demo into ``out`` (replaced if it exists); returns a summary dict.

    Parameters
    ----------
    out
        Output folder.
    n_frames
        Length of the synthetic video (frames, 30 frames/s).
    n_labeled
        Frames chosen by k-means and labeled.
    seed
        Seed of the synthetic world, the frame choice and the training.
    minutes
        Training budget (wall clock, minutes); 3 minutes on a laptop CPU reach a few pixels.
    progress
        Show progress bars.
    """
    from poselab.core import poses
    from poselab.datasets import (
        SYNTHETIC_FLIP_PAIRS,
        SYNTHETIC_PARTS,
        SYNTHETIC_SKELETON,
        synthetic,
    )
    from poselab.io.render import labeled_video
    from poselab.project import Project

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        # Replace an earlier demo's output, never a folder of the user's.
        if not (out / _MARKER).is_file():
            raise FileExistsError(f"{out} exists and is not a poselab demo output: choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("written by python -m poselab.demo; the next demo run replaces this folder\n")
    summary: dict = {}
    started = time.perf_counter()

    print(f"[1/8] rendering a synthetic video ({n_frames} frames) with ground truth")
    world = synthetic(out / "data" / "mouse.mp4", n_animals=1, n_frames=n_frames, seed=seed)
    truth = world.poses

    print("[2/8] creating a project and choosing frames to label (k-means)")
    project = Project.create(
        out / "project",
        parts=list(SYNTHETIC_PARTS),
        skeleton=[list(p) for p in SYNTHETIC_SKELETON],
        flip_pairs=[list(p) for p in SYNTHETIC_FLIP_PAIRS],
        videos=[world.video],
    )
    images = project.select_frames(n=n_labeled, method="kmeans", seed=seed)

    print(f"[3/8] labeling {len(images)} frames from the ground truth")
    records = {r.image: r for r in project.labels.images()}
    animal = truth["animal"].values[0]
    for image in images:
        frame = records[image].frame
        xy = truth["position"].sel(animal=animal, frame=frame).values
        visible = truth["visible"].sel(animal=animal, frame=frame).values if "visible" in truth else np.ones(len(xy), bool)
        project.labels.set_points(
            image, {(project.animals[0], part): tuple(p) for part, p, v in zip(SYNTHETIC_PARTS, xy, visible) if v}
        )
    labels = project.labels_dataset()
    summary["labeled_frames"] = int(labels.sizes["image"])
    summary["labeled_points"] = int(np.isfinite(labels["position"]).all("coord").sum())

    print("[4/8] saving pose Datasets and a DeepLabCut export")
    poses.save(truth[["position", "likelihood", "visible"]], out / "ground_truth.nc")
    poses.save(labels, out / "labels.nc")
    project.export_deeplabcut(out / "CollectedData_poselab.csv")

    print(f"[5/8] training a pose model for {minutes:g} min (tf_efficientnet_lite0, ImageNet weights)")
    from poselab.model import Recipe, TrainConfig, fit
    from poselab.model.recipe import project_images

    # poselab's recipe (the one `poselab train` and the training widget use), with the images
    # halved: the synthetic mouse is large, and it makes CPU training 4x faster. Batch 4: as
    # accurate as 8 here, with 0.27 GiB less memory (benchmarks/course_batch_size.py), so the
    # demo fits a 2 GiB teaching server with room to spare.
    recipe = Recipe(scale=0.5, input_size=192, train=TrainConfig(
        minutes=minutes, batch_size=4, lr=2e-3, eval_every=5, split_seed=seed, seed=seed,
        progress=progress))
    trained = fit(project_images(project), recipe, flip_pairs=project.config.flip_pairs,
                  out_dir=project.models_dir / "demo")
    model_path = trained.model.save(project.models_dir / "demo.safetensors")
    summary["epochs"] = len(trained.history.records)
    summary["test_rmse_px"] = round(float(trained.result["rmse_px"]), 2)
    print(f"      {summary['epochs']} epochs; test RMSE {summary['test_rmse_px']} px on "
          f"{trained.result['n_images']} held-out frames")

    print("[6/8] analyzing the whole video")
    from poselab.inference import analyze_video

    predicted = analyze_video(model_path, world.video, out=out / "poses.nc", progress=progress)
    error = np.linalg.norm(predicted["position"].values - truth["position"].values, axis=-1)
    visible = truth["visible"].values if "visible" in truth else np.ones(error.shape, bool)
    summary["video_median_error_px"] = round(float(np.nanmedian(error[visible])), 2)
    summary["video_frames_within_5px"] = round(float(np.nanmean(error[visible] < 5)), 3)
    print(f"      median error {summary['video_median_error_px']} px over all visible parts of "
          f"{predicted.sizes['frame']} frames; {100 * summary['video_frames_within_5px']:.1f}% within 5 px")

    print("[7/8] filtering, kinematics, gait; plots")
    summary["plots"], gait_scores = _plots(predicted, truth, world, out / "plots")
    summary.update(gait_scores)
    print(f"      stance right in {100 * gait_scores['stance_accuracy_walking']:.0f} % of the paw-frames of "
          f"walking bouts; duty factor {gait_scores['duty_factor']} (truth {gait_scores['true_duty_factor']})")

    print("[8/8] drawing a labeled video of the predictions")
    labeled_video(predicted, world.video, out / "labeled.mp4", skeleton=SYNTHETIC_SKELETON,
                  trail_frames=10, progress=progress)
    project.close()
    summary["seconds"] = round(time.perf_counter() - started, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(f"done in {summary['seconds']} s; results in {out}/: poses.nc, labeled.mp4, plots/, "
          f"project/, summary.json")
    return summary


def _plots(predicted, truth, world, folder: Path) -> tuple[list[str], dict]:
    """Trajectory, speed, gait diagram of the filtered predictions; returns the file names and
    the gait against the truth (stance accuracy in walking bouts, mean duty factors)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from poselab.analysis import filters, gait, plots
    from poselab.datasets import SYNTHETIC_PAWS

    folder.mkdir(parents=True, exist_ok=True)
    # a window per track from its own noise: a precise model's paws keep their fast swings
    smooth = filters.savgol(filters.interpolate_gaps(filters.mask_by_likelihood(predicted, 0.5), 5),
                            window_frames="auto")
    names = []
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    plots.trajectory(truth.assign_coords(animal=["truth"]), ax=axes[0])
    plots.trajectory(smooth.assign_coords(animal=["poselab"]), ax=axes[0])
    plots.speed_over_time(smooth, ax=axes[1])
    fig.tight_layout()
    fig.savefig(folder / "trajectory_and_speed.png", dpi=100)
    names.append("trajectory_and_speed.png")
    plt.close(fig)
    fig, axes = plt.subplots(2, 1, figsize=(10, 5), sharex=True)
    paws = list(SYNTHETIC_PAWS)
    stance, true_stance = gait.stance(smooth, paws), world.gait["stance"].sel(paw=paws)
    plots.gait_diagram(stance, ax=axes[0])
    axes[0].set_title("stance from poselab's poses")
    plots.gait_diagram(true_stance, ax=axes[1])
    axes[1].set_title("ground truth")
    fig.tight_layout()
    fig.savefig(folder / "gait_diagram.png", dpi=100)
    names.append("gait_diagram.png")
    plt.close(fig)
    walking = np.isin(world.behaviour.values, [1, 2])[:, None, :].repeat(len(paws), 1)  # walk, turn bouts
    right = (stance.values == true_stance.values)[walking]

    def duty(ds, st) -> float:  # mean duty factor of the left hind paw's strides
        table = gait.stride_table(ds, paws, reference=paws[2], st=st)
        summary = gait.gait_summary(table, max_duration_s=1.0) if len(table) else []
        return round(float(summary.iloc[0]["duty_factor"]), 3) if len(summary) else float("nan")

    scores = {"stance_accuracy_walking": round(float(right.mean()), 3) if right.size else float("nan"),
              "duty_factor": duty(smooth, stance), "true_duty_factor": duty(truth, true_stance)}
    return names, scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo-output")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--labeled", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--minutes", type=float, default=3.0, help="training budget, minutes")
    args = parser.parse_args(argv)
    run(args.out, n_frames=args.frames, n_labeled=args.labeled, seed=args.seed, minutes=args.minutes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
