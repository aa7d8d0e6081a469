"""Frames per second and peak memory of ``analyze_video`` on a CPU against the batch size.

    python benchmarks/analysis_batch_size.py [--batch-sizes 16 8 4 2] [--threads 1 2]
                                             [--frames 96] [--repeats 2]

Chooses ``AnalysisOptions``' CPU default (``CPU_BATCH_SIZE``). A tf_efficientnet_lite0 model
(ImageNet weights, untrained head: the speed does not depend on the weights) at scale 1.0 runs
over the openfield video's 640x480 frames (``../shared/datasets``; a synthetic 640x480 video
when it is absent), each case in a fresh process with ``torch.set_num_threads(threads)``, after
a warm-up of two batches; the peak is the process's ``VmHWM`` over the timed analysis (reset
by ``/proc/self/clear_refs`` first). Cases alternate over the repeats, so a slow spell of the
machine touches every batch size. Last line ``cpu_small_batch_speed_ratio: <value>``: frames/s
with batch 4 over frames/s with batch 16, on the most threads asked for (best of the repeats).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OPENFIELD = REPO.parent / "shared" / "datasets" / "openfield-Pranav-2018-10-30" / "videos" / "m3v1mp4.mp4"

CASE = r"""
import json, os, sys, time
from pathlib import Path
import torch
batch, threads, frames, model_path, video = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
torch.set_num_threads(threads)
from poselab.inference import analyze_video
analyze_video(model_path, video, frames=(0, 2 * batch), batch_size=batch, progress=False)  # warm-up
Path("/proc/self/clear_refs").write_text("5")
start = time.perf_counter()
analyze_video(model_path, video, frames=(0, frames), batch_size=batch, progress=False)
seconds = time.perf_counter() - start
status = Path("/proc/self/status").read_text().splitlines()
peak = int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) * 1024
print(json.dumps({"batch": batch, "threads": threads, "fps": frames / seconds, "peak_gib": peak / 2**30}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[16, 8, 4, 2])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--frames", type=int, default=96)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    from poselab.model import create_model

    with tempfile.TemporaryDirectory(prefix="poselab-analysis-batch-") as tmp:
        model_path = Path(tmp) / "lite0.safetensors"
        create_model("tf_efficientnet_lite0", ["snout", "leftear", "rightear", "tailbase"],
                     pretrained="offline").save(model_path)
        video = OPENFIELD
        if not video.exists():
            from poselab.datasets import synthetic
            video = Path(tmp) / "mouse.mp4"
            synthetic(video, n_frames=max(args.frames, 2 * max(args.batch_sizes)), size=(640, 480), seed=0)
        print(f"video {video.name}, {args.frames} frames, lite0 at scale 1.0 (640x480 into the network)")
        results = []
        for _ in range(args.repeats):
            for threads in args.threads:
                for batch in args.batch_sizes:
                    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
                    done = subprocess.run([sys.executable, "-c", CASE, str(batch), str(threads), str(args.frames),
                                           str(model_path), str(video)], capture_output=True, text=True,
                                          env=env, cwd=REPO, check=False)
                    if done.returncode != 0:
                        raise RuntimeError(done.stderr[-3000:])
                    results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    print("\n| threads | batch | frames/s (each repeat) | peak (GiB) |")
    print("|---:|---:|---|---:|")
    best = {}
    for threads in args.threads:
        for batch in args.batch_sizes:
            runs = [r for r in results if r["batch"] == batch and r["threads"] == threads]
            best[threads, batch] = max(r["fps"] for r in runs)
            speeds = " / ".join(format(r["fps"], ".2f") for r in runs)
            peak = max(r["peak_gib"] for r in runs)
            print(f"| {threads} | {batch} | {speeds} | {peak:.2f} |")
    most = max(args.threads)
    if (most, 4) in best and (most, 16) in best:
        print(f"cpu_small_batch_speed_ratio: {best[most, 4] / best[most, 16]:.3f}")


if __name__ == "__main__":
    main()
