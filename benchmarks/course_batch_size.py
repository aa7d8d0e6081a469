"""What a smaller training batch costs the course: accuracy on the whole video, pace and memory.

    python benchmarks/course_batch_size.py [--batch-sizes 8 4] [--seeds 1 2] [--epochs 400]
                                           [--parallel 2]

The course notebook (``notebooks/course_video_to_gait.ipynb``) trains on one CPU inside a
2 GiB server, and its training cell is the course's memory peak. This runs the course's
training as the notebook does, on synthetic worlds of the course's kind (300 frames, one
mouse) whose seeds the course does not use (the course's world is seed 0): 20 frames chosen by
k-means, labeled from the truth, ``Recipe(scale=0.5, input_size=192)`` with
``TrainConfig(lr=2e-3, eval_every=5, seed=0)`` and the batch size under test, for a fixed
number of epochs (accuracy does not depend on the machine's load); then ``analyze_video`` over
the whole video, scored against the truth.

Each (seed, batch size) runs in a fresh process pinned to one core with one torch thread (a
student's server). ``--parallel 2`` runs two at once on the two cores (the accuracy does not
change; the pace does, so ``--parallel 1`` on an idle machine for the images/s figures).

Per run: the training's memory growth (``VmHWM`` after training minus the resident memory
just before it; ``/proc/self/clear_refs`` resets the peak first), images per second over the
training, and the error of every predicted part over all frames (median and 90th percentile,
pixels; paws apart). Last line ``small_batch_error_ratio: <value>``: the mean over seeds of the
median error with the smallest batch size over that with the largest (below 1: the small
batch is more accurate).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
PARTS = ["snout", "body_centre", "tail_base",
         "left_fore_paw", "right_fore_paw", "left_hind_paw", "right_hind_paw"]

RUN = r"""
import json, os, sys, time
from pathlib import Path
import numpy as np
import torch
torch.set_num_threads(1)
import poselab
from poselab.datasets import load_synthetic
from poselab.model import Recipe, TrainConfig
from poselab.model.recipe import fit, project_images

video, batch, epochs, parts = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split(",")
PAGE = os.sysconf("SC_PAGE_SIZE")

def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

def high_water():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

world = load_synthetic(video)
truth = world.poses["position"].isel(animal=0).sel(part=parts).values          # (part, frame, xy)
root = video.parent / f"project-b{batch}"
project = poselab.Project.create(root, parts, videos=[video],
    flip_pairs=[["left_fore_paw", "right_fore_paw"], ["left_hind_paw", "right_hind_paw"]])
project.select_frames(n=20, method="kmeans", seed=0)
store, animal = project.labels, project.animals[0]
index = {p: i for i, p in enumerate(parts)}
for record in store.images():
    store.set_points(record.image, {(animal, p): tuple(float(v) for v in truth[index[p], record.frame])
                                    for p in parts})
data = project_images(project)
recipe = Recipe(scale=0.5, input_size=192,
                train=TrainConfig(batch_size=batch, lr=2e-3, eval_every=5, seed=0, epochs=epochs,
                                  progress=False))
Path("/proc/self/clear_refs").write_text("5")
before = resident()
start = time.perf_counter()
result = fit(data, recipe, out_dir=root / "model")
seconds = time.perf_counter() - start
growth = high_water() - before
images = epochs * len(result.train_set)
poses = poselab.analyze_video(result.model, video, progress=False)
predicted = poses["position"].isel(animal=0).sel(part=parts).values
error = np.linalg.norm(predicted - truth, axis=-1)                              # (part, frame)
paws = error[[index[p] for p in parts if p.endswith("paw")]]
print(json.dumps({"batch": batch, "epochs": epochs, "train_images": len(result.train_set),
                  "seconds": seconds, "images_per_s": images / seconds, "growth_gib": growth / 2**30,
                  "test_rmse_px": float(result.result["rmse_px"]),
                  "median_px": float(np.nanmedian(error)), "p90_px": float(np.nanpercentile(error, 90)),
                  "paw_median_px": float(np.nanmedian(paws)), "paw_p90_px": float(np.nanpercentile(paws, 90)),
                  "missing": float(np.isnan(error).mean())}))
"""


def run_one(video: Path, batch: int, epochs: int, core: int) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    command = ["taskset", "-c", str(core), sys.executable, "-c", RUN, str(video), str(batch), str(epochs),
               ",".join(PARTS)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"batch {batch} on {video} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[8, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--parallel", type=int, default=2, choices=[1, 2])
    args = parser.parse_args()

    from poselab.datasets import synthetic

    with tempfile.TemporaryDirectory(prefix="poselab-course-batch-") as tmp:
        jobs = []
        for seed in args.seeds:  # one world per seed; each batch size makes its own project beside it
            video = Path(tmp) / f"seed{seed}" / "mouse.mp4"
            video.parent.mkdir()
            synthetic(video, n_frames=300, seed=seed)
            jobs += [(seed, batch, video) for batch in args.batch_sizes]
        with ThreadPoolExecutor(args.parallel) as pool:
            futures = [pool.submit(run_one, video, batch, args.epochs, i % args.parallel)
                       for i, (_, batch, video) in enumerate(jobs)]
            results = [(seed, f.result()) for (seed, _, _), f in zip(jobs, futures)]

    print(f"\n{args.epochs} epochs, {'two runs at once' if args.parallel == 2 else 'one run at a time'}\n")
    print("| seed | batch | images/s | training growth (GiB) | test RMSE (px) | median (px) | p90 (px) "
          "| paw median (px) | paw p90 (px) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for seed, r in results:
        print(f"| {seed} | {r['batch']} | {r['images_per_s']:.1f} | {r['growth_gib']:.2f} | {r['test_rmse_px']:.2f} "
              f"| {r['median_px']:.2f} | {r['p90_px']:.2f} | {r['paw_median_px']:.2f} | {r['paw_p90_px']:.2f} |")
    small, large = min(args.batch_sizes), max(args.batch_sizes)
    ratios = [next(r for s, r in results if s == seed and r["batch"] == small)["median_px"]
              / next(r for s, r in results if s == seed and r["batch"] == large)["median_px"]
              for seed in args.seeds]
    print(f"small_batch_error_ratio: {np.mean(ratios):.3f}")


if __name__ == "__main__":
    main()
