"""One training recipe on every real labeled project: test accuracy with no per-project setting.

Usage::

    python benchmarks/real_projects.py [--minutes 20 | --epochs N] [--projects openfield mirror-mouse]
                                       [--validate] [--out DIR]

For each real labeled project in ``../shared/datasets`` (or ``$POSELAB_DATA``): a fixed 80/20
split (seed 0), ``Recipe.for_data`` on the training images only (crop, scale, rotation and
mirroring follow from the training labels; nothing is set per project), training with one
budget on the CPU (or ``--device cuda``), then the held-out images evaluated whole as DeepLabCut reports them: test
RMSE over the labeled points, RMSE of the points at or above the likelihood cut-off (0.6), PCK
at 5 pixels, and how often a part absent from an image (not labeled there) is reported at or
above the cut-off. ``--validate`` instead holds out a fifth of the *training* images (never the
test images) to compare settings. The last line is
``real_projects_worst_rmse_px: <the largest test RMSE>``.

Projects:

- ``openfield``: DeepLabCut's openfield mouse, 116 top-view 640x480 frames, 4 parts.
- ``mirror-mouse``: Lightning Pose's example, 90 frames 396x406, a head-fixed mouse seen from
  the side and, through a mirror, from below, 17 parts (some absent in some frames).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from poselab.model import LabeledImages, TrainConfig, evaluate, train  # noqa: E402
from poselab.model.recipe import Recipe, label_geometry  # noqa: E402

PROJECTS = {
    # the .csv holds the same labels as the .h5 and needs no PyTables (not on every GPU machine)
    "openfield": ("openfield-Pranav-2018-10-30", "labeled-data/m4s1/CollectedData_Pranav.csv"),
    "mirror-mouse": ("mirror-mouse-lightning-pose", "CollectedData.csv"),
}


def _data_root() -> Path:
    probe = PROJECTS["openfield"][0]
    for candidate in (os.environ.get("POSELAB_DATA"), REPO.parent / "shared" / "datasets",
                      "/work/shared/datasets"):
        if candidate and (Path(candidate) / probe).is_dir():
            return Path(candidate)
    raise SystemExit("real datasets not found: set POSELAB_DATA to ../shared/datasets")


def run_project(name: str, args: argparse.Namespace) -> dict:
    folder, labels = PROJECTS[name]
    root = _data_root() / folder
    data = LabeledImages.from_deeplabcut(root / labels, root).load()
    train_set, test_set = data.split(0.2, seed=0)
    if args.validate:  # compare settings on the training images only
        train_set, test_set = train_set.split(0.2, seed=1)
    config = TrainConfig(epochs=args.epochs, minutes=None if args.epochs else args.minutes,
                         eval_every=args.eval_every, resume=False, seed=args.seed,
                         num_threads=args.threads, progress=sys.stderr.isatty(), device=args.device)
    recipe = Recipe.for_data(train_set, train=config)
    if args.random_crop is not None:
        recipe.train.augment = dataclasses.replace(recipe.train.augment, random_crop=args.random_crop)
    if args.rotation is not None:
        recipe.train.augment = dataclasses.replace(recipe.train.augment, rotation=args.rotation)
    if args.input_size is not None:
        recipe.input_size = args.input_size
    if args.batch_size is not None:
        recipe.train = dataclasses.replace(recipe.train, batch_size=args.batch_size)
    if args.no_absent:
        recipe.train = dataclasses.replace(recipe.train, missing_is_absent=False)
    geometry = label_geometry(train_set)
    print(f"{name}: {len(train_set)} training / {len(test_set)} "
          f"{'validation' if args.validate else 'test'} images, {len(data.parts)} parts; {geometry}")
    print(f"  recipe: scale {recipe.scale}, crop {recipe.input_size} px, flip test {recipe.flip_test}, "
          f"augment {recipe.train.augment}, missing is absent {recipe.train.missing_is_absent}")
    out = Path(args.out) / name if args.out else Path(tempfile.mkdtemp(prefix=f"{name}-"))
    t0 = time.perf_counter()
    # trained on all training images; the held-out images are only watched (the curve), and
    # the model scored is the last one, not the best on them
    model = recipe.model(data.parts)
    history = train(model, train_set, recipe.train, test_data=test_set, out_dir=out)
    minutes = (time.perf_counter() - t0) / 60
    return _report(name, model, history, test_set, minutes)


def _report(name: str, model, history, test_set: LabeledImages, minutes: float) -> dict:
    scores = evaluate(model, test_set)
    df = history.to_dataframe()
    row = {
        "project": name,
        "epochs": int(df["epoch"].iloc[-1]),
        "minutes": round(minutes, 2),
        "test_rmse_px": scores["rmse_px"],
        "test_rmse_px_cutoff": scores["rmse_px_cutoff"],
        "kept_fraction": scores["kept_fraction"],
        "pck5": scores["pck"][5.0],
        "absent_false_rate": scores["absent_false_rate"],
        "n_absent": scores["n_absent"],
        "per_part_rmse_px": {p: round(v, 2) for p, v in scores["per_part"].items()},
        "curve": [(int(r.epoch), round(r.test_rmse_px, 2)) for r in df.dropna(subset=["test_rmse_px"]).itertuples()]
        if "test_rmse_px" in df else [],
    }
    print(f"  {name}: {row['epochs']} epochs in {minutes:.1f} min; test RMSE {row['test_rmse_px']:.2f} px, "
          f"above the cut-off {row['test_rmse_px_cutoff']:.2f} px ({100 * row['kept_fraction']:.0f}% kept), "
          f"PCK@5 {100 * row['pck5']:.1f}%, absent parts reported {100 * row['absent_false_rate']:.1f}% "
          f"of {row['n_absent']}")
    print("  per part (px): " + json.dumps(row["per_part_rmse_px"]))
    print("  held-out RMSE by epoch: " + ", ".join(f"{e}: {v}" for e, v in row["curve"]))
    return row


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", nargs="+", default=list(PROJECTS), choices=list(PROJECTS))
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget per project")
    parser.add_argument("--epochs", type=int, default=None, help="or a budget in epochs")
    parser.add_argument("--validate", action="store_true",
                        help="score on a fifth of the training images (to compare settings)")
    parser.add_argument("--random-crop", type=float, default=None, help="override (for --validate)")
    parser.add_argument("--rotation", type=float, default=None, help="override (for --validate)")
    parser.add_argument("--input-size", type=int, default=None, help="training crop, override (for --validate)")
    parser.add_argument("--batch-size", type=int, default=None, help="override (for --validate)")
    parser.add_argument("--no-absent", action="store_true", help="missing labels as unknown (for --validate)")
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--device", default="cpu", help="where to train (cuda: mixed precision)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [run_project(name, args) for name in args.projects]
    worst = max(r["test_rmse_px"] for r in rows)
    print(json.dumps(rows, default=float))
    print(f"real_projects_worst_rmse_px: {worst:.3f}")
    return worst


if __name__ == "__main__":
    main()
