"""Video analysis speed: end-to-end analyze_video frames/s against the bare network on the same batches.

    python benchmarks/pipeline_overhead.py [--frames 512] [--batch-size 16] [--backbones tf_efficientnet_lite0 resnet50]
                                         [--decode-workers 1 4] [--device cuda]

Reads ../shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4 (640x480, 30 fps). For each
backbone, the same frames go (1) through the bare network: decoded beforehand, already tensors,
timing only normalisation + forward pass; and (2) through ``analyze_video`` end to end: decoding,
resizing, forward, decoding of peaks, Dataset. The ratio (2)/(1) shows how well the pipeline hides
everything that is not the network. ``--decode-workers`` lists the numbers of decoding threads
to try (``AnalysisOptions.decode_workers``); the rate of decoding alone is printed for each. The
last line is ``pipeline_ratio: <value>`` for the first backbone and the best number of decoding
threads. Untrained weights: speed does not depend on the values.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from poselab.inference import analyze_video
from poselab.io.video import open_video
from poselab.model import create_model

DEFAULT_VIDEO = Path(__file__).resolve().parents[1].parent / "shared/datasets/openfield-Pranav-2018-10-30/videos/m3v1mp4.mp4"


def bare_network_fps(model, frames: np.ndarray, batch_size: int, device: torch.device) -> float:
    batches = [torch.from_numpy(frames[i : i + batch_size]).permute(0, 3, 1, 2).float().div(255).to(device)
               for i in range(0, len(frames), batch_size)]
    model.net.eval()
    with torch.inference_mode():
        for batch in (batches[0], batches[-1]):  # warm-up, each batch shape (CUDA builds kernels per shape)
            with torch.autocast(device.type, enabled=device.type == "cuda"):
                model.net(model.normalize(batch).contiguous(memory_format=torch.channels_last))
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for batch in batches:
            x = model.normalize(batch)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, enabled=device.type == "cuda"):
                model.net(x)
        if device.type == "cuda":
            torch.cuda.synchronize()
    return len(frames) / (time.perf_counter() - start)


def decode_fps(video: Path, n: int, batch_size: int, workers: int) -> float:
    """Frames/s of the analysis pipeline's decoding stage alone (no network)."""
    import queue
    import threading

    from poselab.inference import AnalysisOptions, _decode_batches

    out: queue.Queue = queue.Queue(maxsize=3)
    options = AnalysisOptions(batch_size=batch_size, decode_workers=workers)
    thread = threading.Thread(target=_decode_batches, args=(video, options, 0, n, 1.0, out, threading.Event()))
    start = time.perf_counter()
    thread.start()
    while (item := out.get()) is not None:
        if isinstance(item, BaseException):
            raise item
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, default=Path(os.environ.get("POSELAB_VIDEO", DEFAULT_VIDEO)))
    parser.add_argument("--frames", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--backbones", nargs="+", default=["tf_efficientnet_lite0", "resnet50"])
    parser.add_argument("--decode-workers", type=int, nargs="+", default=[1])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    print(f"video {args.video.name}, first {args.frames} frames, batch {args.batch_size}, device {device}, "
          f"torch threads {torch.get_num_threads()}")
    with open_video(args.video) as reader:
        n = min(args.frames, len(reader))
        frames = np.stack([frame for _, frame in reader.iter_frames(0, n)])
    print(f"frames: {frames.shape}")
    for workers in args.decode_workers:
        print(f"decoding alone, {workers} thread(s): {decode_fps(args.video, n, args.batch_size, workers):8.1f} frames/s")
    ratios = []
    for backbone in args.backbones:
        model = create_model(backbone, ["snout", "leftear", "rightear", "tailbase"], pretrained=False, device=device)
        bare = bare_network_fps(model, frames, args.batch_size, device)
        best = 0.0
        for workers in args.decode_workers:
            analyze_video(model, args.video, frames=(0, min(n, 2 * args.batch_size)), batch_size=args.batch_size,
                          decode_workers=workers, progress=False)  # warm-up (the last batch's shape: warmed above)
            start = time.perf_counter()
            analyze_video(model, args.video, frames=(0, n), batch_size=args.batch_size, decode_workers=workers,
                          progress=False)
            pipeline = n / (time.perf_counter() - start)
            best = max(best, pipeline)
            print(f"{backbone:24s} bare network {bare:8.1f} frames/s   analyze_video ({workers} decoding threads) "
                  f"{pipeline:8.1f} frames/s   ratio {pipeline / bare:.3f}")
        ratios.append(best / bare)
    print(f"pipeline_ratio: {ratios[0]:.3f}")


if __name__ == "__main__":
    main()
