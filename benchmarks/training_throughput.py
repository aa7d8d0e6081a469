"""Training throughput: images per second and where the time goes (data vs network).

Usage::

    python benchmarks/training_throughput.py [--epochs 3] [--batch-size 8] [--input-size 256]
                                             [--device cpu] [--channels-last]

Trains on the openfield frames (or synthetic images when the shared data are absent) without
validation, and reports per epoch: images/s, the share of time in batch assembly and
augmentation (on the training device) and in the network (forward, loss, backward, optimizer).
Images are decoded and resized once before training (time reported separately). The first epoch
is a warm-up and is left out of the average. Last line: ``train_images_per_s: <value>``.
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

from poselab.model import AugmentConfig, LabeledImages, TrainConfig, create_model, train  # noqa: E402

LABELS = "openfield-Pranav-2018-10-30/labeled-data/m4s1/CollectedData_Pranav.csv"  # the .h5's labels, no PyTables


def _data() -> LabeledImages:
    for candidate in (os.environ.get("POSELAB_DATA"), REPO.parent / "shared" / "datasets",
                      "/work/shared/datasets"):
        if candidate and (Path(candidate) / LABELS).is_file():
            return LabeledImages.from_deeplabcut(Path(candidate) / LABELS)
    rng = np.random.default_rng(0)  # stand-in: 96 noise frames with 4 random points
    images = [rng.integers(0, 255, (480, 640, 3), dtype=np.uint8) for _ in range(96)]
    return LabeledImages(images, rng.uniform(100, 380, (96, 4, 2)), ["a", "b", "c", "d"])


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--input-size", type=int, default=256)
    parser.add_argument("--backbone", default="tf_efficientnet_lite0")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--channels-last", action=argparse.BooleanOptionalAction, default=None,
                        help="channels-last memory (default: on)")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    data = _data().load()
    load_s = time.perf_counter() - t0
    model = create_model(args.backbone, data.parts, input_size=args.input_size)
    with tempfile.TemporaryDirectory() as out:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, eval_every=10**6,
                             augment=AugmentConfig(rotation=180, random_crop=0.3),
                             device=args.device, channels_last=args.channels_last, progress=False)
        history = train(model, data, config, test_data=data.subset([0]), out_dir=out)
    df = history.to_dataframe()
    steps_per_epoch = int(df["step"].iloc[0])
    df["images_per_s"] = steps_per_epoch * args.batch_size / df["epoch_seconds"]
    df["data_share"] = df["data_seconds"] / df["epoch_seconds"]
    print(f"device {args.device} ({torch.get_num_threads()} CPU threads), {args.backbone}, "
          f"{args.input_size}x{args.input_size} crops, batch {args.batch_size}, "
          f"{steps_per_epoch * args.batch_size} images per epoch; images decoded+resized once "
          f"in {load_s:.2f} s ({len(data)} frames)")
    for _, row in df.iterrows():
        print(f"  epoch {int(row['epoch'])}: {row['images_per_s']:6.1f} images/s, data+augmentation "
              f"{100 * row['data_share']:4.1f}%, network {100 * (1 - row['data_share']):4.1f}%")
    steady = df.iloc[1:] if len(df) > 1 else df
    rate = float(steady["images_per_s"].mean())
    share = float((steady["data_seconds"].sum()) / steady["epoch_seconds"].sum())
    print(f"mean after warm-up: {rate:.1f} images/s; data loading + augmentation {100 * share:.1f}% "
          f"of training time, network forward/backward/update {100 * (1 - share):.1f}%")
    print(f"train_images_per_s: {rate:.1f}")
    return rate


if __name__ == "__main__":
    main()
