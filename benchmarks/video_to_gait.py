"""From video to gait and behaviour, as a user works, scored against the synthetic world's truth.

    python benchmarks/video_to_gait.py [--seeds 31 32 33] [--frames 600] [--labeled 50]
                                       [--minutes 10 | --epochs N] [--appearance fur]
                                       [--selection kmeans|uniform|kmeans+uniform]

For each seed (none of them used to tune anything): a synthetic video with realistic-looking
animals (``appearance="fur"``) is rendered; poselab's frame selection (``--selection``, k-means
by default) picks ``--labeled`` frames, which are labeled from the truth (visible points only); the model is
trained as ``poselab train`` does (``Recipe.for_data`` on the training share, one budget); the
whole video is analyzed; the filters the demo and the README use are applied (likelihood
< 0.5 masked, gaps up to 5 frames interpolated, Savitzky-Golay with a window per track chosen
from its own noise, ``window_frames="auto"``); then stance,
the stride table, the gait summary and behaviour segmentation, each against the truth, with
the scoring of ``benchmarks/analysis_accuracy.py`` (strides matched to true strides starting
within 3 frames). The same analysis with a fixed 7-frame window (the chain before
``"auto"``), without smoothing, and on the true poses, is printed beside it: what is left on
the true poses is the analysis methods' own error, not the network's. ``--reuse`` scores the models and poses an earlier run left in ``--out`` again.

Reported per seed: pose error over all frames where a part is visible (median, 90th and 99th
percentile; paws and body apart), stance accuracy per frame in walking and turning bouts,
per-stride duration (relative), duty factor and inter-limb phase (cycles) errors, medians and
means; the behaviour frame accuracy of one Gaussian HMM fitted over all the seeds' sessions
(states matched to truth); training epochs and minutes. The last line is
``video_duty_error: <per-stride duty factor error, median, mean over seeds>``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from analysis_accuracy import run_seed  # noqa: E402
from synthetic_look import label_from_truth  # noqa: E402

from poselab.analysis import behaviour as bh  # noqa: E402
from poselab.analysis import filters  # noqa: E402
from poselab.core import poses  # noqa: E402
from poselab.datasets import (  # noqa: E402
    SYNTHETIC_FLIP_PAIRS,
    SYNTHETIC_PARTS,
    SYNTHETIC_PAWS,
    load_synthetic,
    synthetic,
)
from poselab.inference import analyze_video  # noqa: E402
from poselab.model import Recipe, TrainConfig, fit  # noqa: E402
from poselab.model.recipe import project_images  # noqa: E402
from poselab.project import Project  # noqa: E402

REPORTED = ("stance_acc_stepping", "stride_duration_rel_err", "duty_factor_err", "phase_err_cycles",
            "stride_duration_rel_err_mean", "duty_factor_err_mean", "phase_err_cycles_mean", "strides_found",
            "hmm_session_accuracy")


def default_filters(predicted):
    """The filter chain of the demo and the README."""
    masked = filters.mask_by_likelihood(predicted, 0.5)
    return filters.savgol(filters.interpolate_gaps(masked, 5), window_frames="auto")


def fixed_window(predicted):
    """The chain before ``"auto"``: a 7-frame window for every track."""
    return filters.savgol(filters.interpolate_gaps(filters.mask_by_likelihood(predicted, 0.5), 5), 7)


def unsmoothed(predicted):
    """The same without the Savitzky-Golay smoothing (a stride lasts about 8 frames here)."""
    return filters.interpolate_gaps(filters.mask_by_likelihood(predicted, 0.5), 5)


def pose_errors(ds, truth) -> dict:
    """Median, 90th and 99th percentile of the error over visible points, paws and body apart (px)."""
    error = np.linalg.norm(ds["position"].values - truth["position"].values, axis=-1)[0]  # (part, frame)
    visible = truth["visible"].values[0]
    is_paw = np.isin(SYNTHETIC_PARTS, SYNTHETIC_PAWS)[:, None]
    out = {}
    for name, mask in (("paw", is_paw & visible), ("body", ~is_paw & visible)):
        values = error[mask]
        missing = float(np.mean(~np.isfinite(values)))
        values = values[np.isfinite(values)]
        out.update({f"{name}_median_px": float(np.median(values)), f"{name}_p90_px": float(np.percentile(values, 90)),
                    f"{name}_p99_px": float(np.percentile(values, 99)), f"{name}_missing": missing})
    per_part = {str(p): round(float(np.nanpercentile(error[i][visible[i]], 90)), 2)
                for i, p in enumerate(SYNTHETIC_PARTS)}
    out["per_part_p90_px"] = per_part
    return out


def train_as_a_user(folder: Path, world, seed: int, args: argparse.Namespace):
    """``--selection`` frames labeled from the truth; ``poselab train``'s recipe with one budget."""
    truth = world.poses
    project = Project.create(folder / "project", parts=list(SYNTHETIC_PARTS),
                             flip_pairs=[list(p) for p in SYNTHETIC_FLIP_PAIRS], videos=[world.video])
    images = project.select_frames(n=args.labeled, method=args.selection, seed=seed)
    label_from_truth(project, truth, images)
    data = project_images(project)
    config = TrainConfig(minutes=None if args.epochs else args.minutes, epochs=args.epochs, seed=seed,
                         split_seed=seed, eval_every=1000, progress=False)
    train_set, _ = Recipe(train=config).split(data)
    recipe = Recipe.for_data(train_set, train=config)  # as `poselab train` chooses
    started = time.perf_counter()
    trained = fit(data, recipe, flip_pairs=project.config.flip_pairs)
    minutes = (time.perf_counter() - started) / 60
    project.close()
    # Which behaviours the labeled frames show (the selection's coverage, from the truth).
    frames = [int(Path(str(image)).stem.removeprefix("img")) for image in images]
    states = world.behaviour.attrs["states"]
    codes = world.behaviour.values[0][frames]
    coverage = {str(name): int(np.sum(codes == code)) for code, name in enumerate(states)}
    return trained, recipe, minutes, coverage


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[31, 32, 33])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--labeled", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0, help="training budget per world")
    parser.add_argument("--epochs", type=int, default=None, help="or a budget in epochs")
    parser.add_argument("--appearance", default="fur", choices=["fur", "coloured"])
    parser.add_argument("--selection", default="kmeans", choices=["kmeans", "uniform", "kmeans+uniform"],
                        help="frame selection method (Project.select_frames)")
    parser.add_argument("--out", default=None, help="keep each world's video, model and poses here")
    parser.add_argument("--reuse", action="store_true",
                        help="score the models and poses an earlier run left in --out again (no training)")
    args = parser.parse_args(argv)
    root = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="video-to-gait-"))
    rows, features, behaviours, truth_rows = [], [], [], []
    for seed in args.seeds:
        folder = root / f"seed{seed}"
        folder.mkdir(parents=True, exist_ok=True)
        done = folder / "run.json"
        if args.reuse and done.is_file():  # the model and poses of an earlier run: score them again
            world = load_synthetic(folder / "mouse.mp4")
            run = json.loads(done.read_text())
            predicted = (poses.load(folder / "poses.nc", lazy=False) if (folder / "poses.nc").is_file() else
                         analyze_video(folder / "model.safetensors", world.video, out=folder / "poses.nc",
                                       progress=False))
        else:
            world = synthetic(folder / "mouse.mp4", n_frames=args.frames, seed=seed, appearance=args.appearance)
            trained, recipe, minutes, coverage = train_as_a_user(folder, world, seed, args)
            model_path = trained.model.save(folder / "model.safetensors")
            started = time.perf_counter()
            predicted = analyze_video(model_path, world.video, out=folder / "poses.nc", progress=False)
            run = {"epochs": len(trained.history.records), "train_minutes": round(minutes, 1),
                   "recipe": f"scale {recipe.scale}, crop {recipe.input_size}, flip test {recipe.flip_test}",
                   "analysis_s": round(time.perf_counter() - started, 1),
                   "test_rmse_px": round(float(trained.result["rmse_px"]), 2), "selection": args.selection,
                   "labeled_behaviours": coverage}
            done.write_text(json.dumps(run))
        filtered = default_filters(predicted)
        scores, x, truth_b = run_seed(world, filtered, seed)
        plain, _, _ = run_seed(world, unsmoothed(predicted), seed)
        fixed, _, _ = run_seed(world, fixed_window(predicted), seed)
        on_truth, _, _ = run_seed(world, world.poses, seed)
        row = {"seed": seed, **run,
               "raw": {k: round(v, 2) if isinstance(v, float) else v
                       for k, v in pose_errors(predicted, world.poses).items()},
               "filtered": {k: round(v, 2) if isinstance(v, float) else v
                            for k, v in pose_errors(filtered, world.poses).items()},
               **{k: round(scores[k], 3) for k in REPORTED},
               "unsmoothed": {k: round(plain[k], 3) for k in REPORTED},
               "fixed_7": {k: round(fixed[k], 3) for k in REPORTED},
               "auto_windows": dict(zip(SYNTHETIC_PARTS, filters.smoothing_windows(
                   unsmoothed(predicted)).values[0].tolist()))}
        rows.append(row)
        truth_rows.append({k: round(on_truth[k], 3) for k in REPORTED})
        features.append(x)
        behaviours.append(truth_b)
        print(json.dumps(row), flush=True)
        print(f"  the same analysis on the true poses: {json.dumps(truth_rows[-1])}", flush=True)
    # One HMM over all sessions, as a study fits one model across its sessions.
    k = len(np.unique(np.concatenate(behaviours)))
    pooled = bh.match_states(np.concatenate(bh.segment(features, k)), np.concatenate(behaviours))
    pooled_accuracy = float(np.mean(pooled == np.concatenate(behaviours)))
    print("mean over seeds:")
    for key in ("paw_median_px", "paw_p90_px", "paw_p99_px", "body_median_px", "body_p90_px"):
        print(f"  {key}: raw {np.mean([r['raw'][key] for r in rows]):.2f}, "
              f"filtered {np.mean([r['filtered'][key] for r in rows]):.2f}")
    for key in REPORTED:
        print(f"  {key}: {np.nanmean([r[key] for r in rows]):.3f} (fixed 7-frame window "
              f"{np.nanmean([r['fixed_7'][key] for r in rows]):.3f}; without the smoothing "
              f"{np.nanmean([r['unsmoothed'][key] for r in rows]):.3f}; on the true poses "
              f"{np.nanmean([r[key] for r in truth_rows]):.3f})")
    print(f"  behaviour frame accuracy, one HMM over all sessions: {pooled_accuracy:.3f}")
    duty = float(np.nanmean([r["duty_factor_err"] for r in rows]))
    print(f"video_duty_error: {duty:.3f}")
    return duty


if __name__ == "__main__":
    main()
