"""Multi-animal assembly + tracking on synthetic worlds with 2, 3 and 4 animals.

Usage::

    python benchmarks/multi_animal_tracking.py [--frames 1800] [--animals 2 3 4] [--seeds 0 1]
        [--noise 2.0] [--dropout 0.05] [--false-rate 0.1] [--paf-noise 0.1]
    python benchmarks/multi_animal_tracking.py --detector network [--model FILE]
        [--train-minutes 6 | --train-epochs N] [--animals 2 3] [--seeds 0 1] [--frames 900]
        [--threshold 0.25] [--min-affinity 0.1]

``--worlds DIR`` keeps the rendered worlds (videos and truth) and reuses them in later runs.

For each world (``poselab.datasets.synthetic``, 640x480, 30 fps; animals walk, turn, groom and
rear, and cross and touch) the per-frame detections come from one of two detectors:

``--detector simulated`` (default): :func:`poselab.multianimal.simulate_detector`, frame by frame
from the ground truth:

- candidates: every *visible* part (``visible`` of the truth) at its true position plus Gaussian
  noise (``--noise`` px per axis), missed with probability ``--dropout``, score U(0.5, 1); plus
  false candidates anywhere in the image (Poisson, ``--false-rate`` per part and frame),
  score U(0.1, 0.5); candidates come in random order, so nothing carries identity;
- part affinity fields: :func:`poselab.multianimal.render_pafs` of the visible parts (where
  animals overlap their fields average, as a network's would blur) plus Gaussian noise
  (``--paf-noise``), at stride 8, over the skeleton :func:`skeleton_from_labels` learns from the
  truth (a spanning tree plus the most rigid other pairs, ``--limbs`` in all), with limb
  length limits from the truth (:func:`limb_length_limits`); :func:`assemble` groups them.

``--detector network``: the real bottom-up network (:class:`poselab.multianimal.PafPoseNet`,
EfficientNet-lite0, stride 8, images at half size), either loaded (``--model``) or trained here
first with :func:`poselab.multianimal.train_multianimal` on a separate synthetic world
(``--train-animals`` animals, ``--train-frames`` frames, seed ``--train-seed``, every
``--train-step``-th frame; several seeds give several worlds, of other coats, in one training set; frozen ImageNet backbone, ``--views`` cached augmented views per
frame, ``--train-minutes`` of CPU training or ``--train-epochs`` epochs). The evaluation worlds
use other seeds (held out); :func:`poselab.multianimal.detect_animals` finds peaks (score at
least ``--threshold``) and assembles them (PAF integral at least ``--min-affinity``) on every
frame.

``--identities`` renders the training worlds with marked animals (``synthetic(marks=True)``:
animal k carries MARKS[k % 5]) and gives the network a supervised identity head for them
(``create_multianimal_model(identities=...)``, DeepLabCut's ``identity=True``); the evaluation
worlds are marked too, and tracklets go to the animal the head names
(:func:`poselab.multianimal.assign_identities`) instead of being stitched by motion.

Then :func:`track` links and stitches them into the known number of animals, and the result is
scored against the truth:

- pose mAP (COCO OKS, sigma 0.1 for every part; truth restricted to visible parts) of the
  per-frame assemblies (identity-free), and (simulated detector) of a perfect grouping of the
  same candidates (what the candidates allow: missed parts count 0 in OKS, so dropouts alone
  cap it);
- MOTA, IDF1 and identity switches (CLEAR-MOT, per 1000 frames) of the tracks (match radius: a
  fifth of the median animal length);
- the IDF1 after review: :func:`poselab.multianimal.identity_checkpoints` lists the frames where
  two tracked animals part after a contact, and a simulated reviewer looks at each and, where
  identities sit on other animals than at the start, swaps them back from there on with
  :func:`swap_identities` (the review widget's tool); with the number of checkpoints;
- the IDF1 of the same tracker on the same detected parts grouped by the truth (each part given
  to the animal whose true part of that type is nearest): what a perfect assembly of those
  detections would allow, which separates assembly errors from linking errors;
- encounters (:func:`poselab.multianimal.encounters`): runs of frames in which two animals'
  centroids are within one body length. A *crossing* is an encounter of at most one second
  with the pair at least one body length apart for a second before and after (the issue's
  goal: no switch there); longer encounters are *contacts* (one animal resting against, or
  walking over, another for seconds: poses alone cannot always tell them apart). A switch
  within half a second of an encounter of the two animals that trade identities (of the
  switching animal, when it takes a new identity) is attributed to it (to a crossing first).

The last line is ``idf1: <value>``, the IDF1 over all worlds (frame-weighted mean).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from poselab.core import poses
from poselab.datasets import load_synthetic, synthetic
from poselab.datasets.synthetic import SyntheticWorldError
from poselab.io.video import open_video
from poselab.multianimal import (
    TrackingConfig,
    assemble,
    average_precision,
    identity_checkpoints,
    learn_appearance,
    limb_length_limits,
    link_tracklets,
    pose_distance,
    skeleton_from_labels,
    swap_identities,
    track,
    tracking_metrics,
)
from poselab.multianimal.simulate import encounters, simulate_detector

STRIDE = 8


def _simulated(truth, args, seed):
    """Assemblies of the simulated detector per frame, and the perfect grouping (oracle)."""
    n_animals = truth.sizes["animal"]
    n_parts = truth.sizes["part"]
    skeleton = skeleton_from_labels(truth, n_limbs=min(args.limbs, n_parts * (n_parts - 1) // 2))
    max_length = limb_length_limits(truth, skeleton, margin=4 * args.noise)
    rng = np.random.default_rng(1000 + seed)
    detector = simulate_detector(
        truth, skeleton, rng, noise=args.noise, dropout=args.dropout,
        false_rate=args.false_rate, paf_noise=args.paf_noise,
    )
    found, oracle = [], []
    for cands, pafs, truly in detector:
        found.append(assemble(cands, pafs, STRIDE, paf_graph=skeleton, min_parts=3,
                              max_individuals=n_animals, max_length=max_length))
        oracle.append(truly)
    return found, oracle


def _network(model, video, n_animals, *, threshold, min_affinity):
    """Assemblies of the trained network per frame (image pixels) and their appearance
    descriptors, through the analysis engine (kept beside the video in ``<stem>.nc.detections``)."""
    from poselab.inference import (
        DetectionStore,
        MultiAnimalOptions,
        analyze_video,
        split_detections,
    )

    out = Path(video).with_suffix(".nc")
    decoding = {"threshold": threshold, "min_affinity": min_affinity, "min_parts": 3, "max_individuals": n_animals}
    analyze_video(model, video, animals=MultiAnimalOptions(n_animals, decoding=decoding), out=out, progress=False)
    with open_video(video) as reader:
        n_frames = len(reader)
    stored = DetectionStore(out.with_name(out.name + ".detections"), "").read(0, n_frames)
    n_parts = len(model.parts)
    return split_detections(stored, n_parts), split_detections(stored, n_parts, "appearance")


def _grouped_by_truth(found: list[np.ndarray], truth) -> list[np.ndarray]:
    """The same detected parts, each given to the animal whose true part of that type is
    nearest (a perfect assembly of what was detected); per frame in a random order."""
    pos = truth["position"].transpose("frame", "animal", "part", "coord").values
    n_animals, n_parts = pos.shape[1], pos.shape[2]
    rng = np.random.default_rng(0)
    out = []
    for f, assemblies in enumerate(found):
        grouped = np.full((n_animals, n_parts, 3), np.nan)
        for pose in assemblies:
            for p in np.nonzero(np.isfinite(pose[:, 0]))[0]:
                owner = np.nanargmin(np.linalg.norm(pos[f, :, p] - pose[p, :2], axis=-1))
                if np.isnan(grouped[owner, p, 0]):
                    grouped[owner, p] = pose[p]
        grouped = grouped[np.isfinite(grouped[..., 0]).sum(1) >= 3]
        out.append(grouped[rng.permutation(len(grouped))])
    return out


def _reviewed(tracked, truth, checkpoints: np.ndarray, radius: float):
    """A reviewer at each checkpoint: where identities are on other animals than at the start,
    swap them back from there on with :func:`swap_identities` (the review widget's tool)."""
    from scipy.optimize import linear_sum_assignment

    names = [str(a) for a in tracked["animal"].values]
    order = ("animal", "part", "coord")

    def on_animal(ds, frame):  # identity index -> true animal index, matched poses only
        d = pose_distance(ds["position"].sel(frame=frame).transpose(*order).values,
                          truth["position"].sel(frame=frame).transpose(*order).values)
        rows, cols = linear_sum_assignment(np.where(np.isfinite(d), d, 1e9))
        return {int(r): int(c) for r, c in zip(rows, cols) if d[r, c] < radius}

    start = next((f for f in tracked["frame"].values
                  if len(on_animal(tracked, f)) == len(names)), None)
    if start is None:
        return tracked
    holder = {a: k for k, a in on_animal(tracked, start).items()}  # true animal -> identity
    for frame in checkpoints:
        for _ in range(len(names)):  # one swap per misplaced identity at most
            wrong = [(k, holder[a]) for k, a in on_animal(tracked, frame).items() if holder[a] != k]
            if not wrong:
                break
            k, right = wrong[0]
            tracked = swap_identities(tracked, names[k], names[right], int(frame))
    return tracked


def _world(folder: Path, n_animals: int, n_frames: int, seed: int, marks: bool = False):
    """A synthetic world, reopened from ``folder`` when rendered there before (--worlds)."""
    path = folder / f"world{n_animals}_{seed}_{n_frames}{'_marked' if marks else ''}.mp4"
    try:
        return load_synthetic(path)
    except SyntheticWorldError:
        return synthetic(path, n_animals=n_animals, n_frames=n_frames, seed=seed, marks=marks)


def run_world(n_animals: int, n_frames: int, seed: int, args, folder: Path, model=None) -> dict:
    """Detect, assemble, track and score one world; a dict of numbers."""
    world = _world(folder, n_animals, n_frames, seed, marks=args.marks)
    truth = world.poses
    body = float(world.gait.attrs["body_length"])
    t0 = time.perf_counter()
    looks = None
    if model is None:
        found, oracle = _simulated(truth, args, seed)
    else:
        (found, looks), oracle = _network(model, world.video, n_animals, threshold=args.threshold,
                                          min_affinity=args.min_affinity), None
    t_assemble = time.perf_counter() - t0
    if args.save_assemblies:  # for tracker work without re-running the detector
        out = Path(args.save_assemblies)
        out.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out / f"{args.detector}{n_animals}_{seed}_{n_frames}.npz",
                            *[np.asarray(a, np.float32) for a in found])
    parts = [str(p) for p in truth["part"].values]
    t0 = time.perf_counter()
    named = model is not None and bool(model.identity_names)  # an identity head names the animals
    weights = args.appearance_weight if looks is not None and not named else [0.0]
    config = TrackingConfig(appearance_weight=weights[0])
    tracked = track(found, n_animals, config, parts=parts, fps=float(truth.attrs["fps"]),
                    **({"identity": looks} if named else {"appearance": looks}))
    t_track = time.perf_counter() - t0
    by_weight, separation = {}, float("nan")
    if looks is not None and not named:  # the other appearance weights on the same detections, and how well looks separate
        for w in weights:
            other = track(found, n_animals, TrackingConfig(appearance_weight=w), parts=parts, appearance=looks)
            by_weight[w] = tracking_metrics(truth.drop_vars(["visible", "mark"], errors="ignore"), other)["idf1"]
        embedding = learn_appearance(link_tracklets(found, appearance=looks), min_separation=0.0)
        separation = float("nan") if embedding is None else embedding.separation

    # identity-free poses of every frame for mAP, truth restricted to visible parts
    slots = np.full((n_animals, len(parts), n_frames, 3), np.nan)
    for f, a in enumerate(found):
        slots[: len(a), :, f] = a[:n_animals]
    per_frame = poses.from_arrays(slots[..., :2], np.clip(slots[..., 2], 0, 1), parts=parts)
    shown = np.where(truth["visible"].values[..., None], truth["position"].values, np.nan)
    visible_truth = poses.from_arrays(shown, parts=parts)
    ap = average_precision(visible_truth, per_frame, sigmas=0.1)
    ap_oracle = {"mAP": float("nan")}
    if oracle is not None:
        grouped = np.stack(oracle, axis=2)  # (animal, part, frame, 3)
        perfect = poses.from_arrays(grouped[..., :2], grouped[..., 2], parts=parts)
        ap_oracle = average_precision(visible_truth, perfect, sigmas=0.1)
    truth = truth.drop_vars("mark", errors="ignore")
    m = tracking_metrics(truth.drop_vars("visible"), tracked)
    # with an identity head: the same detections tracked by motion alone, for comparison
    idf1_motion = (tracking_metrics(truth.drop_vars("visible"), track(found, n_animals, parts=parts))["idf1"]
                   if named else float("nan"))
    # the tracker on the same parts perfectly assembled: separates assembly from linking errors
    regrouped = track(_grouped_by_truth(found, truth), n_animals, parts=parts)
    idf1_grouped = tracking_metrics(truth.drop_vars("visible"), regrouped)["idf1"]
    # a person checking the frames where animals part, and swapping identities back there
    checkpoints = identity_checkpoints(tracked)
    reviewed = _reviewed(tracked, truth, checkpoints, radius=body)
    idf1_reviewed = tracking_metrics(truth.drop_vars("visible"), reviewed)["idf1"]
    enc = encounters(truth, body)
    half = float(truth.attrs["fps"]) / 2
    names = [str(a) for a in truth["animal"].values]
    at_crossing = at_contact = 0
    for (frame, animal), partner in zip(m["switch_events"], m["switch_partners"]):
        a = names.index(animal)
        # the encounters of the two animals that trade identities (of the animal alone when it
        # takes a new identity): an exchange during one pair's contact is not another's crossing
        pair = {a} if partner is None else {a, names.index(partner)}
        near = [c for i, j, s, e, c in enc if pair <= {i, j} and s - half <= frame <= e + half]
        if any(near):
            at_crossing += 1
        elif near:
            at_contact += 1
    return {
        "animals": n_animals, "seed": seed, "frames": n_frames, "mAP": ap["mAP"],
        "AP50": ap["AP50"], "mAP_oracle": ap_oracle["mAP"], "mota": m["mota"], "idf1": m["idf1"],
        "idf1_grouped": idf1_grouped, "idf1_reviewed": idf1_reviewed,
        "checkpoints": len(checkpoints),
        "switches": m["id_switches"], "per_1000": m["switches_per_1000_frames"],
        "encounters": len(enc), "crossings": sum(c for *_, c in enc),
        "sw_crossing": at_crossing, "sw_contact": at_contact,
        "sw_other": m["id_switches"] - at_crossing - at_contact,
        "ms_detect": 1000 * t_assemble / n_frames, "ms_track": 1000 * t_track / n_frames,
        "idf1_by_weight": by_weight, "separation": separation, "idf1_motion": idf1_motion,
    }


def _report(r: dict) -> str:
    return (
        f"{r['animals']} animals, seed {r['seed']}, {r['frames']} frames: "
        f"mAP {r['mAP']:.3f} (AP50 {r['AP50']:.3f}; perfect grouping {r['mAP_oracle']:.3f}) | "
        f"MOTA {r['mota']:.4f} IDF1 {r['idf1']:.4f} (parts grouped by the truth "
        f"{r['idf1_grouped']:.4f}; after review of {r['checkpoints']} checkpoints "
        f"{r['idf1_reviewed']:.4f}) switches {r['switches']} "
        f"({r['per_1000']:.2f}/1000 frames) | encounters {r['encounters']}, "
        f"{r['crossings']} crossings; switches at crossings {r['sw_crossing']}, "
        f"at contacts {r['sw_contact']}, elsewhere {r['sw_other']} | "
        f"{r['ms_detect']:.1f} ms/frame detection + assembly, {r['ms_track']:.2f} ms/frame tracking"
        + (f" | appearance: held-out separation {r['separation']:.2f}, IDF1 by weight "
           + ", ".join(f"{w:g}: {v:.4f}" for w, v in r["idf1_by_weight"].items()) if r["idf1_by_weight"] else "")
        + (f" | IDF1 motion only {r['idf1_motion']:.4f}" if np.isfinite(r["idf1_motion"]) else "")
    )


def train_network(args, folder: Path):
    """Train the bottom-up network on a separate synthetic world (CPU-friendly settings)."""
    import torch

    from poselab.multianimal import MultiAnimalImages, create_multianimal_model, train_multianimal

    if args.threads:
        torch.set_num_threads(args.threads)
    worlds = [_world(folder, args.train_animals, args.train_frames, seed, marks=args.identities)
              for seed in args.train_seed]
    truth = worlds[0].poses
    skeleton = skeleton_from_labels(truth, n_limbs=args.net_limbs)
    data = MultiAnimalImages.concat([
        MultiAnimalImages.from_video(w.video, w.poses, np.arange(0, args.train_frames, args.train_step))
        for w in worlds])
    torch.manual_seed(0)
    model = create_multianimal_model(
        [str(p) for p in truth["part"].values], skeleton, scale=args.scale,
        input_size=(224, 320), head_channels=64,
        max_length=limb_length_limits(truth, skeleton, margin=8.0),
        identities=[str(m) for m in truth["mark"].values] if args.identities else None,
    )
    t0 = time.perf_counter()
    budget = ({"epochs": args.train_epochs} if args.train_epochs
              else {"minutes": args.train_minutes})
    history = train_multianimal(
        model, data, **budget, batch_size=8, freeze_backbone=True,
        cached_views=args.views, progress=False,
        out_dir=args.save_model, seed=0,
    )
    last = history.records[-1]
    print(
        f"trained on {len(data)} frames of {args.train_animals} animals (seeds "
        f"{' '.join(map(str, args.train_seed))}), frozen backbone, {args.views} cached views: {last['epoch']} epochs, "
        f"{last['step']} steps, {last['seconds'] / 60:.1f} min + {last['cache_seconds'] / 60:.1f} "
        f"min caching; loss {history.records[0]['loss']:.2f} -> {last['loss']:.2f} "
        f"(wall {time.perf_counter() - t0:.0f} s)", flush=True,
    )
    return model


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
    net = parser.add_argument_group("trained network (--detector network)")
    parser.add_argument("--detector", choices=["simulated", "network"], default="simulated",
                        help="simulated from the truth, or the trained bottom-up network")
    net.add_argument("--model", help="a trained multi-animal model file (else train one)")
    net.add_argument("--save-model", help="folder for the checkpoints of the trained model")
    net.add_argument("--train-minutes", type=float, default=6.0,
                     help="wall-clock training budget (head only; caching not counted)")
    net.add_argument("--train-epochs", type=int, default=0,
                     help="train this many epochs instead (independent of the machine's load)")
    net.add_argument("--train-frames", type=int, default=600)
    net.add_argument("--train-step", type=int, default=3, help="use every n-th training frame")
    net.add_argument("--train-animals", type=int, default=2)
    net.add_argument("--train-seed", type=int, nargs="+", default=[11],
                     help="seeds of the training worlds (keep them out of --seeds)")
    net.add_argument("--views", type=int, default=3, help="cached augmented views per frame")
    net.add_argument("--scale", type=float, default=0.5, help="network pixels per image pixel")
    net.add_argument("--net-limbs", type=int, default=16, help="limbs with a field")
    net.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    net.add_argument("--threshold", type=float, default=0.25, help="peak score threshold")
    net.add_argument("--min-affinity", type=float, default=0.1,
                     help="weakest PAF line integral that links two parts")
    parser.add_argument("--save-assemblies", help="write each world's per-frame assemblies "
                        "(identity-free poses) to <folder>/<detector><animals>_<seed>_<frames>.npz")
    parser.add_argument("--worlds", help="keep rendered worlds in this folder and reuse them "
                        "(default: a temporary folder)")
    parser.add_argument("--marks", action="store_true",
                        help="evaluation worlds with marked animals (synthetic(marks=True))")
    net.add_argument("--identities", action="store_true",
                     help="train a supervised identity head on marked training worlds (animal k "
                          "carries MARKS[k]) and track by it; implies --marks")
    net.add_argument("--appearance-weight", type=float, nargs="+", default=[0.0],
                     help="TrackingConfig.appearance_weight values to compare on the same detections "
                          "(the first gives the main figures)")
    args = parser.parse_args()
    args.marks = args.marks or args.identities
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.worlds or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        model = None
        if args.detector == "network":
            if set(args.seeds) & set(args.train_seed):
                parser.error("evaluation seeds must differ from --train-seed (held-out videos)")
            if args.model:
                from poselab.multianimal.model import load_multianimal_model

                model = load_multianimal_model(args.model)
            else:
                model = train_network(args, folder)
        for n in args.animals:
            for seed in args.seeds:
                rows.append(run_world(n, args.frames, seed, args, folder, model=model))
                print(_report(rows[-1]), flush=True)
    weights = np.array([r["frames"] * r["animals"] for r in rows], float)
    idf1 = float(np.sum(weights * [r["idf1"] for r in rows]) / weights.sum())
    grouped = float(np.sum(weights * [r["idf1_grouped"] for r in rows]) / weights.sum())
    reviewed = float(np.sum(weights * [r["idf1_reviewed"] for r in rows]) / weights.sum())
    checks = sum(r["checkpoints"] for r in rows)
    switches = sum(r["switches"] for r in rows)
    frames = sum(r["frames"] for r in rows)
    print(
        f"all: mean mAP {np.mean([r['mAP'] for r in rows]):.4f}, "
        f"mean MOTA {np.mean([r['mota'] for r in rows]):.4f}, switches {switches} in {frames} "
        f"frames ({1000 * switches / frames:.2f}/1000 frames); "
        f"{sum(r['crossings'] for r in rows)} crossings with "
        f"{sum(r['sw_crossing'] for r in rows)} switches; IDF1 with the detected parts grouped "
        f"by the truth {grouped:.4f}; after review of {checks} checkpoints "
        f"({1000 * checks / frames:.1f}/1000 frames) {reviewed:.4f}"
    )
    if rows and np.isfinite(rows[0]["idf1_motion"]):
        motion = float(np.sum(weights * [r["idf1_motion"] for r in rows]) / weights.sum())
        print(f"IDF1 of the same detections tracked by motion only (frame-weighted): {motion:.4f}")
    if rows and rows[0]["idf1_by_weight"]:
        print("IDF1 by appearance weight (frame-weighted): " + ", ".join(
            f"{w:g}: {float(np.sum(weights * [r['idf1_by_weight'][w] for r in rows]) / weights.sum()):.4f}"
            for w in rows[0]["idf1_by_weight"]))
    print(f"idf1: {idf1:.4f}")


if __name__ == "__main__":
    main()
