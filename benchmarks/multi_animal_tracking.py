"""Multi-animal assembly + tracking on synthetic worlds with 2, 3 and 4 animals.

Usage::

    python benchmarks/multi_animal_tracking.py [--frames 1800] [--animals 2 3 4] [--seeds 0 1]
        [--noise 2.0] [--dropout 0.05] [--false-rate 0.1] [--paf-noise 0.1]

For each world (``poselab.datasets.synthetic``, 640x480, 30 fps; animals walk, turn, groom and
rear, and cross and touch), a detector is simulated from the ground truth, frame by frame:

- candidates: every *visible* part (``visible`` of the truth) at its true position plus Gaussian
  noise (``--noise`` px per axis), missed with probability ``--dropout``, score U(0.5, 1); plus
  false candidates anywhere in the image (Poisson, ``--false-rate`` per part and frame),
  score U(0.1, 0.5); candidates come in random order, so nothing carries identity;
- part affinity fields: :func:`poselab.multianimal.render_pafs` of the visible parts (where
  animals overlap their fields average, as a network's would blur) plus Gaussian noise
  (``--paf-noise``), at stride 8, over the skeleton :func:`skeleton_from_labels` learns from the
  truth (a spanning tree plus the most rigid other pairs, ``--limbs`` in all), with limb
  length limits from the truth (:func:`limb_length_limits`).

Then :func:`assemble` groups candidates into animals, :func:`track` links and stitches them into
the known number of animals, and the result is scored against the truth:

- pose mAP (COCO OKS, sigma 0.1 for every part; truth restricted to visible parts) of the
  per-frame assemblies (identity-free), and of a perfect grouping of the same candidates (what
  the candidates allow: missed parts count 0 in OKS, so dropouts alone cap it);
- MOTA, IDF1 and identity switches (CLEAR-MOT, per 1000 frames) of the tracks (match radius: a
  fifth of the median animal length);
- encounters: runs of frames in which two animals' centroids are within one body length.
  A *crossing* is an encounter of at most one second with the pair at least one body length
  apart for a second before and after (the issue's goal: no switch there); longer encounters
  are *contacts* (one animal resting against, or walking over, another for seconds: poses
  alone cannot always tell them apart). A switch within half a second of an encounter is
  attributed to it (to a crossing first).

The last line is ``idf1: <value>``, the IDF1 over all worlds (frame-weighted mean).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from poselab import poses
from poselab.datasets import synthetic
from poselab.multianimal import (
    assemble,
    average_precision,
    limb_length_limits,
    render_pafs,
    skeleton_from_labels,
    track,
    tracking_metrics,
)

STRIDE = 8


def simulate_detector(truth, skeleton, rng, *, noise, dropout, false_rate, paf_noise):
    """Per frame: candidate lists, PAFs, and the oracle grouping of the true candidates.

    The oracle ``(A, P, 3)`` holds each animal's own (noisy) candidates: perfect assembly.
    """
    pos = truth["position"].transpose("frame", "animal", "part", "coord").values
    vis = truth["visible"].transpose("frame", "animal", "part").values
    n_frames, n_animals, n_parts, _ = pos.shape
    width, height = int(truth.attrs["width"]), int(truth.attrs["height"])
    map_size = (height // STRIDE, width // STRIDE)
    for f in range(n_frames):
        seen = vis[f] & np.isfinite(pos[f, ..., 0]) & (rng.random((n_animals, n_parts)) >= dropout)
        kp = np.where(vis[f][..., None], pos[f], np.nan)
        pafs = render_pafs(kp, skeleton, map_size, STRIDE, width=0.2 * _length(pos))
        pafs += rng.normal(0, paf_noise, pafs.shape).astype(np.float32)
        cands = []
        oracle = np.full((n_animals, n_parts, 3), np.nan)
        for p in range(n_parts):
            xy = pos[f, seen[:, p], p] + rng.normal(0, noise, (int(seen[:, p].sum()), 2))
            score = rng.uniform(0.5, 1.0, len(xy))
            oracle[seen[:, p], p] = np.column_stack([xy, score])
            n_false = rng.poisson(false_rate)
            fxy = rng.uniform([0, 0], [width, height], (n_false, 2))
            c = np.vstack([np.column_stack([xy, score]),
                           np.column_stack([fxy, rng.uniform(0.1, 0.5, n_false)])])
            cands.append(c[rng.permutation(len(c))])
        yield cands, pafs, oracle


def _length(pos: np.ndarray) -> float:
    """Median animal length (largest part-to-part distance, pixels)."""
    d = np.linalg.norm(pos[..., :, None, :] - pos[..., None, :, :], axis=-1)
    return float(np.nanmedian(np.nanmax(d, axis=(-1, -2))))


def encounters(truth, body_length: float) -> list[tuple[int, int, int, int, bool]]:
    """(animal i, animal j, first frame, last frame, is a crossing) for each close approach."""
    pos = truth["position"].values  # (animal, part, frame, 2)
    centre = np.nanmean(pos, axis=1)
    fps = int(round(float(truth.attrs["fps"])))
    out = []
    n = pos.shape[0]
    for i in range(n):
        for j in range(i + 1, n):
            close = np.linalg.norm(centre[i] - centre[j], axis=-1) < body_length
            edges = np.diff(np.concatenate([[0], close.astype(int), [0]]))
            for s, e in zip(np.nonzero(edges == 1)[0], np.nonzero(edges == -1)[0] - 1):
                before, after = close[max(0, s - fps) : s], close[e + 1 : e + 1 + fps]
                apart = len(before) == fps and len(after) == fps
                apart = apart and not before.any() and not after.any()
                out.append((i, j, int(s), int(e), bool(apart and e - s + 1 <= fps)))
    return out


def run_world(n_animals: int, n_frames: int, seed: int, args, folder: Path) -> dict:
    """Simulate, assemble, track and score one world; a dict of numbers."""
    path = folder / f"world{n_animals}_{seed}.mp4"
    world = synthetic(path, n_animals=n_animals, n_frames=n_frames, seed=seed)
    truth = world.poses
    body = float(world.gait.attrs["body_length"])
    n_parts = truth.sizes["part"]
    skeleton = skeleton_from_labels(truth, n_limbs=min(args.limbs, n_parts * (n_parts - 1) // 2))
    max_length = limb_length_limits(truth, skeleton, margin=4 * args.noise)
    rng = np.random.default_rng(1000 + seed)
    detector = simulate_detector(
        truth, skeleton, rng, noise=args.noise, dropout=args.dropout,
        false_rate=args.false_rate, paf_noise=args.paf_noise,
    )
    t_assemble = 0.0
    found, oracle = [], []
    for cands, pafs, truly in detector:
        t0 = time.perf_counter()
        found.append(assemble(cands, pafs, STRIDE, paf_graph=skeleton, min_parts=3,
                              max_individuals=n_animals, max_length=max_length))
        t_assemble += time.perf_counter() - t0
        oracle.append(truly)
    parts = [str(p) for p in truth["part"].values]
    t0 = time.perf_counter()
    tracked = track(found, n_animals, parts=parts, fps=float(truth.attrs["fps"]))
    t_track = time.perf_counter() - t0

    # identity-free poses of every frame for mAP, truth restricted to visible parts
    slots = np.full((n_animals, len(parts), n_frames, 3), np.nan)
    for f, a in enumerate(found):
        slots[: len(a), :, f] = a[:n_animals]
    per_frame = poses.from_arrays(slots[..., :2], np.clip(slots[..., 2], 0, 1), parts=parts)
    grouped = np.stack(oracle, axis=2)  # (animal, part, frame, 3)
    perfect = poses.from_arrays(grouped[..., :2], grouped[..., 2], parts=parts)
    shown = np.where(truth["visible"].values[..., None], truth["position"].values, np.nan)
    visible_truth = poses.from_arrays(shown, parts=parts)
    ap = average_precision(visible_truth, per_frame, sigmas=0.1)
    ap_oracle = average_precision(visible_truth, perfect, sigmas=0.1)
    m = tracking_metrics(truth.drop_vars("visible"), tracked)
    enc = encounters(truth, body)
    half = float(truth.attrs["fps"]) / 2
    names = [str(a) for a in truth["animal"].values]
    at_crossing = at_contact = 0
    for frame, animal in m["switch_events"]:
        a = names.index(animal)
        near = [c for i, j, s, e, c in enc if a in (i, j) and s - half <= frame <= e + half]
        if any(near):
            at_crossing += 1
        elif near:
            at_contact += 1
    return {
        "animals": n_animals, "seed": seed, "frames": n_frames, "mAP": ap["mAP"],
        "AP50": ap["AP50"], "mAP_oracle": ap_oracle["mAP"], "mota": m["mota"], "idf1": m["idf1"],
        "switches": m["id_switches"], "per_1000": m["switches_per_1000_frames"],
        "encounters": len(enc), "crossings": sum(c for *_, c in enc),
        "sw_crossing": at_crossing, "sw_contact": at_contact,
        "sw_other": m["id_switches"] - at_crossing - at_contact,
        "ms_assemble": 1000 * t_assemble / n_frames, "ms_track": 1000 * t_track / n_frames,
    }


def _report(r: dict) -> str:
    return (
        f"{r['animals']} animals, seed {r['seed']}, {r['frames']} frames: "
        f"mAP {r['mAP']:.3f} (AP50 {r['AP50']:.3f}; perfect grouping {r['mAP_oracle']:.3f}) | "
        f"MOTA {r['mota']:.4f} IDF1 {r['idf1']:.4f} switches {r['switches']} "
        f"({r['per_1000']:.2f}/1000 frames) | encounters {r['encounters']}, "
        f"{r['crossings']} crossings; switches at crossings {r['sw_crossing']}, "
        f"at contacts {r['sw_contact']}, elsewhere {r['sw_other']} | "
        f"{r['ms_assemble']:.1f} ms/frame assembly, {r['ms_track']:.2f} ms/frame tracking"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=1800)
    parser.add_argument("--animals", type=int, nargs="+", default=[2, 3, 4])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--noise", type=float, default=2.0, help="candidate noise, px per axis")
    parser.add_argument("--dropout", type=float, default=0.05,
                        help="probability that a visible part is missed")
    parser.add_argument("--false-rate", type=float, default=0.1,
                        help="false candidates per part and frame")
    parser.add_argument("--limbs", type=int, default=22,
                        help="limbs in the learned skeleton (the PAF graph)")
    parser.add_argument("--paf-noise", type=float, default=0.1,
                        help="PAF noise (standard deviation; fields are unit vectors)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.animals:
            for seed in args.seeds:
                rows.append(run_world(n, args.frames, seed, args, Path(tmp)))
                print(_report(rows[-1]), flush=True)
    weights = np.array([r["frames"] * r["animals"] for r in rows], float)
    idf1 = float(np.sum(weights * [r["idf1"] for r in rows]) / weights.sum())
    switches = sum(r["switches"] for r in rows)
    frames = sum(r["frames"] for r in rows)
    print(
        f"all: mean mAP {np.mean([r['mAP'] for r in rows]):.4f}, "
        f"mean MOTA {np.mean([r['mota'] for r in rows]):.4f}, switches {switches} in {frames} "
        f"frames ({1000 * switches / frames:.2f}/1000 frames); "
        f"{sum(r['crossings'] for r in rows)} crossings with "
        f"{sum(r['sw_crossing'] for r in rows)} switches"
    )
    print(f"idf1: {idf1:.4f}")


if __name__ == "__main__":
    main()
