"""The main job, end to end, on built-in demo data: ``python -m poselab.demo --out demo-output``.

1. render a synthetic video with ground truth (``poselab.datasets.synthetic``);
2. create a project with it and choose distinct frames to label (k-means);
3. label them (here from the ground truth, as a user would in the labeling widget);
4. save the labels and the ground truth as pose Datasets, export DeepLabCut labels;
5. draw a labeled video of the ground truth.

Later steps (training, video analysis, kinematics and gait plots) are added as they land.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np


def run(out: str | Path = "demo-output", *, n_frames: int = 300, n_labeled: int = 30, seed: int = 0) -> dict:
    """Run the demo into ``out`` (replaced if it exists); returns a summary dict."""
    from poselab import poses
    from poselab.datasets import SYNTHETIC_FLIP_PAIRS, SYNTHETIC_PARTS, SYNTHETIC_SKELETON, synthetic
    from poselab.project import Project
    from poselab.render import labeled_video

    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    summary: dict = {}
    started = time.perf_counter()

    print(f"[1/5] rendering a synthetic video ({n_frames} frames) with ground truth")
    world = synthetic(out / "data" / "mouse.mp4", n_animals=1, n_frames=n_frames, seed=seed)
    truth = world.poses

    print("[2/5] creating a project and choosing frames to label (k-means)")
    project = Project.create(
        out / "project",
        parts=list(SYNTHETIC_PARTS),
        skeleton=[list(p) for p in SYNTHETIC_SKELETON],
        flip_pairs=[list(p) for p in SYNTHETIC_FLIP_PAIRS],
        videos=[world.video],
    )
    images = project.select_frames(n=n_labeled, method="kmeans", seed=seed)

    print(f"[3/5] labeling {len(images)} frames from the ground truth")
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
    summary["labeled_frames"] = int(labels.sizes["frame"])
    summary["labeled_points"] = int(np.isfinite(labels["position"]).all("coord").sum())

    print("[4/5] saving pose Datasets and a DeepLabCut export")
    poses.save(truth[["position", "likelihood"]], out / "ground_truth.nc")
    poses.save(labels.drop_vars(["image", "video", "video_frame"]), out / "labels.nc")
    project.export_deeplabcut(out / "CollectedData_poselab.csv")

    print("[5/5] drawing a labeled video of the ground truth")
    labeled_video(truth, world.video, out / "ground_truth_labeled.mp4", skeleton=SYNTHETIC_SKELETON,
                  trail_frames=10)
    project.close()
    summary["seconds"] = round(time.perf_counter() - started, 1)
    print(f"done in {summary['seconds']} s: {summary['labeled_frames']} frames, "
          f"{summary['labeled_points']} points labeled; results in {out}/")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="demo-output")
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument("--labeled", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    run(args.out, n_frames=args.frames, n_labeled=args.labeled, seed=args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
