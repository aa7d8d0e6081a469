"""Memory of one training step and of one analysis batch, against batch size and input size.

    python benchmarks/batch_memory.py [--backbone tf_efficientnet_lite0] [--quick]

Fits the constants poselab uses to choose batch sizes that fit the memory a cgroup allows
(``poselab.core.resources.fit_batch_size``, called by ``train`` and ``analyze_video``): the peak
memory of a step is about ``fixed_bytes + batch * pixels * bytes_per_pixel``, pixels being the
network input of one image (training: the crop, ``model.input_size``; analysis: the frame after
crop and downscale).

Each case runs in a fresh process on the CPU with one torch thread (a JupyterHub student's
server has one CPU), and measures the growth of the peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) over the step, from the resident memory just
before it (``/proc/self/statm``; the process's peak so far is printed too, and must not be above
the resident memory, which would hide part of the growth). After a training in the same process
the peak is reset first (``/proc/self/clear_refs``) and read from ``VmHWM`` instead, as
``ru_maxrss`` cannot be reset:

- training: the model, the optimizer and the stacked training images (``batch`` images of the
  crop's size) are set up first; then two steps of ``PoseTask.loss``, ``backward`` and an AdamW
  update, as ``train`` runs them (the first step also makes the gradients and AdamW's state:
  fixed bytes);
- analysis: ``analyze_video`` over a video of ``5 * batch`` noise frames of the given size (the
  decode thread's queue, the network's batch, the decoder, the results), returning a Dataset. By
  default in a process that has first trained the model for a step (8 crops of 256 px, with
  ``train``), as a notebook does: analysis then grows up to 1.3x what it grows in a fresh process
  (glibc's allocator, whose mmap threshold training has raised, keeps more of the freed memory);
  ``--analysis-after nothing`` measures it fresh.

The fit is an ordinary least-squares line through the cases; the last lines are
``<mode>_bytes_per_pixel_per_image: <value>`` and ``<mode>_fixed_bytes: <value>`` (training,
then analysis, the analysis' per-pixel bytes last). poselab keeps these values, 25 % higher,
in ``poselab/model/memory.py`` (``TRAIN_MEMORY``; ``ANALYSIS_MEMORY``, which also sizes the
batches of whole test images scored during training).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

COMMON = """
import json, os, resource, sys
import numpy as np
import torch
torch.set_num_threads(1)
PAGE = os.sysconf("SC_PAGE_SIZE")

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE

RESET = False

def peak():
    if RESET:  # the peak since reset_peak(): /proc/self/status's VmHWM (ru_maxrss cannot be reset)
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB

def reset_peak():
    global RESET
    with open("/proc/self/clear_refs", "w") as f:  # "5": the peak resident memory starts again here
        f.write("5")
    RESET = True
"""

TRAIN = COMMON + """
from poselab.datasets import SYNTHETIC_PARTS
from poselab.model import LabeledImages, TrainConfig, create_model
from poselab.model.optim import create_optimizer
from poselab.model.train import PoseTask
backbone, size, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
parts = list(SYNTHETIC_PARTS)
rng = np.random.default_rng(0)
images = [rng.integers(0, 255, (size, size, 3), dtype=np.uint8) for _ in range(batch)]
keypoints = rng.uniform(0.2 * size, 0.8 * size, (batch, len(parts), 2))
model = create_model(backbone, parts, pretrained=False, input_size=size)
config = TrainConfig(epochs=1, batch_size=batch).check()
task = PoseTask(model, LabeledImages(images, keypoints, parts), config)
generator = torch.Generator().manual_seed(0)
task.prepare(generator)
task.start_epoch()
model.net.to(memory_format=torch.channels_last)  # as train() does
model.net.train()
optimizer = create_optimizer(model.net, lr=1e-3, weight_decay=1e-4)
del images
before_rss, before_peak = rss(), peak()
for _ in range(2):
    loss, _ = task.loss(torch.arange(batch), generator)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
print(json.dumps({"rss_before": before_rss, "peak_before": before_peak, "peak_after": peak()}))
"""

ANALYZE = COMMON + """
import cv2
from poselab.datasets import SYNTHETIC_PARTS
from poselab.inference import analyze_video
from poselab.io.video import open_video
from poselab.model import create_model
backbone, video, batch, after = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
model = create_model(backbone, list(SYNTHETIC_PARTS), pretrained=False)
if after == "training":  # as in a notebook: train (8 crops of 256 px a step), then analyze
    from poselab.model import LabeledImages, train
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (256, 256, 3), dtype=np.uint8) for _ in range(8)]
    train(model, LabeledImages(images, rng.uniform(50, 200, (8, len(SYNTHETIC_PARTS), 2)), list(SYNTHETIC_PARTS)),
          epochs=1, batch_size=8, progress=False)
    del images
    reset_peak()  # training's own peak (above the analysis') would hide the analysis' growth
with open_video(video) as reader:  # the reader's imports, before the measurement
    len(reader)
before_rss, before_peak = rss(), peak()
ds = analyze_video(model, video, batch_size=batch, progress=False, device="cpu")
print(json.dumps({"rss_before": before_rss, "peak_before": before_peak, "peak_after": peak(),
                  "frames": int(ds.sizes["frame"])}))
"""

# (input side, batch): crops of 128-320 px, 2-16 images (the default is 256 px, 8 images)
TRAIN_CASES = [(128, 2), (128, 8), (128, 16), (192, 4), (192, 8), (256, 2), (256, 4), (256, 8),
               (256, 16), (320, 8)]
# ((width, height), batch): frames of 320x240 to 1280x720, 1-32 frames (the default is 16)
ANALYZE_CASES = [((320, 240), 1), ((320, 240), 16), ((320, 240), 32), ((640, 480), 1),
                 ((640, 480), 4), ((640, 480), 16), ((960, 720), 8), ((1280, 720), 4)]
MARGIN = 1.25  # poselab's constants are the fit's, 25 % higher
QUICK_TRAIN = [(128, 2), (256, 4), (256, 8)]
QUICK_ANALYZE = [((320, 240), 4), ((640, 480), 4), ((640, 480), 8)]


def _noise_video(path: Path, size: tuple[int, int], n: int) -> Path:
    import cv2

    rng = np.random.default_rng(0)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    for _ in range(n):
        writer.write(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
    writer.release()
    return path


def _child(code: str, *args: str) -> dict | None:
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=REPO)
    if run.returncode != 0:  # e.g. out of memory on a crowded machine: report, leave it out of the fit
        print(f"case {args} failed ({run.returncode}): {run.stderr.strip().splitlines()[-1:]}", flush=True)
        return None
    result = json.loads(run.stdout.strip().splitlines()[-1])
    result["growth"] = result["peak_after"] - max(result["rss_before"], 0)
    # the peak before the step must not exceed the resident memory much (it would hide growth)
    result["hidden"] = max(0, result["peak_before"] - result["rss_before"])
    return result


def _fit(pixels: list[float], growth: list[float]) -> tuple[float, float]:
    """Least-squares ``growth = fixed + slope * pixels``; returns (slope, fixed)."""
    a = np.stack([np.asarray(pixels, float), np.ones(len(pixels))], axis=1)
    (slope, fixed), *_ = np.linalg.lstsq(a, np.asarray(growth, float), rcond=None)
    return float(slope), float(fixed)


def _report(mode: str, fit: tuple[float, float], pixels: list[float], growth: list[float]) -> None:
    """The fit, its largest residual, and whether the estimate poselab uses (the fit + 25 %) covers
    every case measured."""
    slope, fixed = fit
    predicted = fixed + slope * np.asarray(pixels, float)
    residual = np.asarray(growth, float) - predicted
    worst = float(np.max(np.asarray(growth, float) / (MARGIN * predicted)))
    print(f"{mode} fit: {slope:.0f} B per pixel per image + {fixed / 2**20:.1f} MiB (largest residual "
          f"{np.abs(residual).max() / 2**20:.1f} MiB); the fit + {MARGIN - 1:.0%} covers every case: "
          f"{worst <= 1} (largest measured / estimate {worst:.2f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--quick", action="store_true", help="three cases per mode")
    parser.add_argument("--only", choices=("train", "analyze"), default=None)
    parser.add_argument("--analysis-after", choices=("training", "nothing"), default="training",
                        help="measure analysis in a process that has trained first (a notebook's "
                             "order; glibc then keeps more of the freed memory: up to 1.3x) or fresh")
    args = parser.parse_args()
    mib = 2**20
    fits = {}
    if args.only in (None, "train"):
        pixels, growth = [], []
        for size, batch in QUICK_TRAIN if args.quick else TRAIN_CASES:
            t0 = time.perf_counter()
            r = _child(TRAIN, args.backbone, str(size), str(batch))
            if r is None:
                continue
            pixels.append(batch * size * size)
            growth.append(r["growth"])
            print(f"train   {size:4d}x{size:<4d} batch {batch:2d}: peak growth {r['growth'] / mib:7.1f} MiB "
                  f"({r['growth'] / pixels[-1]:6.0f} B per pixel; peak before the step {r['hidden'] / mib:.1f} MiB "
                  f"over the resident memory; {time.perf_counter() - t0:.0f} s)", flush=True)
        fits["train"] = _fit(pixels, growth)
        _report("train", fits["train"], pixels, growth)
    if args.only in (None, "analyze"):
        pixels, growth = [], []
        with tempfile.TemporaryDirectory(prefix="poselab-batch-memory-") as folder:
            for (width, height), batch in QUICK_ANALYZE if args.quick else ANALYZE_CASES:
                t0 = time.perf_counter()
                video = _noise_video(Path(folder) / f"noise_{width}x{height}_{batch}.mp4", (width, height),
                                     5 * batch)
                r = _child(ANALYZE, args.backbone, str(video), str(batch), args.analysis_after)
                if r is None:
                    continue
                pixels.append(batch * width * height)
                growth.append(r["growth"])
                print(f"analyze {width:4d}x{height:<4d} batch {batch:2d}: peak growth {r['growth'] / mib:7.1f} MiB "
                      f"({r['growth'] / pixels[-1]:6.0f} B per pixel; peak before {r['hidden'] / mib:.1f} MiB "
                      f"over the resident memory; {time.perf_counter() - t0:.0f} s)", flush=True)
        fits["analyze"] = _fit(pixels, growth)
        _report("analyze", fits["analyze"], pixels, growth)
    for mode, (slope, fixed) in fits.items():
        print(f"{mode}_fixed_bytes: {fixed:.0f}")
        print(f"{mode}_bytes_per_pixel_per_image: {slope:.1f}")


if __name__ == "__main__":
    main()
