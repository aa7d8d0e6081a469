"""The zoo's top-view mouse model: zero-shot, after video adaptation, and fine-tuned.

    python benchmarks/zoo_accuracy.py [--parts zero-shot synthetic adapt fine-tune]
                                      [--frames 10 25 50] [--epochs 60] [--model FILE]

* ``zero-shot``: ``zoo.load("topview_mouse", parts=openfield's parts)`` (snout, leftear,
  rightear, tailbase matched by name) on DeepLabCut's openfield frames, never used in its
  training: the 23 test images of the split every openfield benchmark uses (80/20, seed 0) and
  all 116. RMSE, PCK@5 and PCK@10 px, per part; flip-averaged as the card says.
* ``synthetic``: the same on synthetic worlds whose seeds (6000-6002) no training used, all 12
  keypoints, every 10th frame, visible points only.
* ``adapt``: :func:`poselab.zoo.adapt_to_video` on ``videos/m3v1mp4.mp4`` (another session of
  the same arena, no labels), then zero-shot on all 116 labeled frames, before and after, and
  on the 23 test images after.
* ``fine-tune``: the first 10 / 25 / 50 images of a fixed shuffle of the 93 training images,
  trained from the zoo model and from ImageNet with the same recipe (``Recipe.for_data``) and
  the same number of epochs (the same compute), scored on the 23 test images.

The last line is ``zoo_zero_shot_pck10: <fraction of the 23 test images' points within 10 px>``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from real_projects import PROJECTS, _data_root

from poselab import zoo
from poselab.model import LabeledImages, Recipe, TrainConfig, evaluate, load_model, train
from poselab.model.transfer import with_parts
from poselab.zoo.build import synthetic_images

SYNTHETIC_SEEDS = (6000, 6001, 6002)


def _model(args, parts=None):
    if args.model:
        base = load_model(args.model)
        return base if parts is None else with_parts(base, parts)
    return zoo.load("topview_mouse", parts=parts)


def _line(name: str, result: dict) -> str:
    per = ", ".join(f"{p} {v:.1f}" for p, v in result["per_part"].items())
    errors = result["errors_px"][np.isfinite(result["errors_px"])]
    return (f"{name}: RMSE {result['rmse_px']:.2f} px, median {result['median_error_px']:.2f} px, "
            f"PCK@5 {result['pck'][5.0]:.1%}, PCK@10 {result['pck'][10.0]:.1%} ({per}); "
            f"{int((errors > 30).sum())} of {errors.size} points over 30 px off; above the "
            f"{result['cutoff']:g} cut-off RMSE {result['rmse_px_cutoff']:.2f} px ({result['kept_fraction']:.0%} kept)")


def zero_shot(args, data: LabeledImages, test_set: LabeledImages) -> float:
    model = _model(args, data.parts)
    test = evaluate(model, test_set)
    print(_line(f"zero-shot, openfield {len(test_set)} test images", test), flush=True)
    print(_line(f"zero-shot, openfield all {len(data)} images", evaluate(model, data)), flush=True)
    return test["pck"][10.0]


def on_synthetic(args) -> None:
    model = _model(args)
    with tempfile.TemporaryDirectory() as tmp:
        data = synthetic_images(tmp, SYNTHETIC_SEEDS, frames=30, every=10, sizes=((640, 480),))
    print(_line(f"zero-shot, synthetic seeds {SYNTHETIC_SEEDS} ({len(data)} frames)", evaluate(model, data)),
          flush=True)


def adapted(args, data: LabeledImages, test_set: LabeledImages, root: Path) -> None:
    model = _model(args, data.parts)
    print(_line("before adaptation, all 116", evaluate(model, data)), flush=True)
    t0 = time.perf_counter()
    config = zoo.AdaptConfig(frames=args.adapt_frames, epochs=args.adapt_epochs)
    better = zoo.adapt_to_video(model, root / "videos" / "m3v1mp4.mp4", config)
    report = better.card["adapted_to"]
    print(f"adaptation on m3v1mp4.mp4: {report['frames_kept']} of {report['frames_read']} frames kept, "
          f"{report['keypoints_kept']:.0%} of keypoints (likely {report['likely']:.0%}, mirror agrees "
          f"{report['mirror_agrees']:.0%}, small step {report['step_small']:.0%}); "
          f"{config.epochs} epochs, {(time.perf_counter() - t0) / 60:.1f} min", flush=True)
    print(_line("after adaptation, all 116", evaluate(better, data)), flush=True)
    print(_line(f"after adaptation, the {len(test_set)} test images", evaluate(better, test_set)), flush=True)


def fine_tuned(args, train_set: LabeledImages, test_set: LabeledImages) -> None:
    order = np.random.default_rng(0).permutation(len(train_set))
    for k in args.frames:
        few = train_set.subset(order[:k])
        for start in ("zoo", "imagenet"):
            init = _model(args, train_set.parts) if start == "zoo" else None
            recipe = Recipe.for_data(few, init_from=init, train=TrainConfig(
                epochs=args.epochs, eval_every=10**6, resume=False, seed=0, progress=False))
            model = recipe.model(train_set.parts)
            t0 = time.perf_counter()
            train(model, few, recipe.train)
            minutes = (time.perf_counter() - t0) / 60
            print(_line(f"fine-tuned from {start}, {k} frames, {args.epochs} epochs, {minutes:.1f} min",
                        evaluate(model, test_set)), flush=True)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parts", nargs="+", default=["zero-shot", "synthetic", "adapt", "fine-tune"],
                        choices=["zero-shot", "synthetic", "adapt", "fine-tune"])
    parser.add_argument("--frames", nargs="+", type=int, default=[10, 25, 50])
    parser.add_argument("--epochs", type=int, default=60, help="fine-tuning epochs (both starts)")
    parser.add_argument("--adapt-frames", type=int, default=200)
    parser.add_argument("--adapt-epochs", type=int, default=10)
    parser.add_argument("--model", default=None, help="a model file instead of the zoo's")
    args = parser.parse_args(argv)
    folder, labels = PROJECTS["openfield"]
    root = _data_root() / folder
    data = LabeledImages.from_deeplabcut(root / labels, root).load()
    train_set, test_set = data.split(0.2, seed=0)
    pck10 = float("nan")
    if "zero-shot" in args.parts:
        pck10 = zero_shot(args, data, test_set)
    if "synthetic" in args.parts:
        on_synthetic(args)
    if "adapt" in args.parts:
        adapted(args, data, test_set, root)
    if "fine-tune" in args.parts:
        fine_tuned(args, train_set, test_set)
    print(f"zoo_zero_shot_pck10: {pck10:.3f}")
    return pck10


if __name__ == "__main__":
    main()
