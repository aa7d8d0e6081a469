"""The fastest CPU path: offline analysis frames/s at 640x480 against test RMSE on openfield.

    python benchmarks/inference_speed.py --model MODEL.safetensors [--frames 512] [--batch-size 8]

Reads ../shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4 (640x480, 30 frames/s)
and analyzes its first ``--frames`` frames with ``analyze_video`` end to end (decoding, network,
peaks, Dataset), one path after the other in the same process, each after a warm-up, with the
machine's threads (2 here). Paths: the plain PyTorch forward; the model exported to ONNX and run
by ONNX Runtime; ONNX at half resolution (``downscale=2``); ONNX with the window that follows
the animal (``follow_crop`` 256 and 192 px; PyTorch with 256 too). Beside each, the test RMSE of
the same path on the 23 held-out openfield images (the split of ``benchmarks/real_projects.py``,
single pass; a following window centred where the labels are, as the pipeline centres it on the
pose of the frame before) and how far its poses lie from the plain path's on the video (median
over points seen, likelihood >= 0.6, in both).

``--model`` must be trained on the 93 training images of that split (``benchmarks/live_latency.py
--train-epochs 70 --out DIR`` writes one; so does ``benchmarks/real_projects.py --out DIR``). The
last lines are ``fastest_over_plain_torch: <ratio>`` and ``fastest_cpu_fps_640x480: <frames/s of
the fastest path with test RMSE <= 3.5 px>``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from live_latency import VIDEO, openfield_split  # noqa: E402

from poselab.inference import analyze_video, follow_window  # noqa: E402
from poselab.live import FramePredictor, LiveConfig  # noqa: E402
from poselab.model import evaluate, export_onnx, load_model, load_onnx_model  # noqa: E402

RMSE_GOAL = 3.5  # px: the accuracy a fast path must keep to count (issue 15)


def test_rmse(model, downscale: float, follow: int | None) -> float:
    _, test_set = openfield_split()
    predictor = FramePredictor(model, LiveConfig(downscale=downscale))
    xy, likelihood = [], []
    for image, labels in zip(test_set.images, test_set.keypoints):
        window = None if follow is None else follow_window(image.shape, labels,
                                                           np.isfinite(labels[:, 0]).astype(float), follow)
        point, score = predictor(image, window)
        xy.append(point)
        likelihood.append(score)
    return evaluate(model, test_set, predictions=(np.stack(xy), np.stack(likelihood)))["rmse_px"]


def timed(model, n: int, batch_size: int, **options):
    analyze_video(model, VIDEO, frames=(0, 2 * batch_size), batch_size=batch_size, progress=False, device="cpu",
                  **options)  # warm-up
    start = time.perf_counter()
    ds = analyze_video(model, VIDEO, frames=(0, n), batch_size=batch_size, progress=False, device="cpu", **options)
    return n / (time.perf_counter() - start), ds


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True, help="an openfield model (.safetensors)")
    parser.add_argument("--frames", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    model = load_model(args.model, device="cpu")
    model.card["flip_test"] = False  # one pass everywhere: the speeds compare the same work
    fast = load_onnx_model(export_onnx(model, Path(tempfile.mkdtemp()) / "model.onnx"), threads=args.threads)
    paths = [
        ("PyTorch, whole frame", model, 1.0, None),
        ("ONNX Runtime, whole frame", fast, 1.0, None),
        ("ONNX Runtime, half resolution (downscale 2)", fast, 2.0, None),
        ("PyTorch, follow_crop 256", model, 1.0, 256),
        ("ONNX Runtime, follow_crop 256", fast, 1.0, 256),
        ("ONNX Runtime, follow_crop 192", fast, 1.0, 192),
    ]
    print(f"video {VIDEO.name} (640x480), first {args.frames} frames, batch {args.batch_size}, "
          f"{args.threads} threads; model {model}")
    print("| path | frames/s | test RMSE (px) | from the plain path's poses, median (px) |")
    print("|---|---|---|---|")
    rows = []
    reference = None
    for name, net, downscale, follow in paths:
        fps, ds = timed(net, args.frames, args.batch_size, downscale=downscale, follow_crop=follow)
        rmse = test_rmse(model, downscale, follow)
        if reference is None:
            reference = ds
        seen = (ds["likelihood"].values >= 0.6) & (reference["likelihood"].values >= 0.6)
        distance = np.linalg.norm(ds["position"].values - reference["position"].values, axis=-1)[seen]
        rows.append((name, fps, rmse))
        print(f"| {name} | {fps:.1f} | {rmse:.2f} | {np.median(distance):.2f} |", flush=True)
    plain = rows[0][1]
    name, fps, rmse = max((row for row in rows if row[2] <= RMSE_GOAL), key=lambda row: row[1])
    print(f"fastest path within {RMSE_GOAL} px: {name}, {fps:.1f} frames/s, test RMSE {rmse:.2f} px")
    print(f"fastest_over_plain_torch: {fps / plain:.2f}")
    print(f"fastest_cpu_fps_640x480: {fps:.1f}")
    return fps


if __name__ == "__main__":
    main()
