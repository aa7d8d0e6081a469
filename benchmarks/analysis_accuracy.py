"""Accuracy of gait and behaviour analysis against the synthetic world's truth.

Noisy poses (Gaussian keypoint noise, random dropouts filled by interpolation, Savitzky-Golay
smoothing) from several seeds; prints per-seed and mean errors, last line
``behaviour_frame_accuracy: <value>``.

    .venv/bin/python benchmarks/analysis_accuracy.py --seeds 3 --frames 600
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from scipy.ndimage import uniform_filter1d

from poselab import behaviour as bh
from poselab import filters, gait, kinematics
from poselab.datasets import synthetic


def noisy(ds, noise_px: float, dropout: float, rng):
    pos = ds["position"].values.copy()
    pos += rng.normal(0, noise_px, pos.shape)
    drop = rng.random(pos.shape[:3]) < dropout
    pos[drop] = np.nan
    ds = ds.copy()
    ds["position"] = (ds["position"].dims, pos)
    ds = filters.interpolate_gaps(ds, 10)
    return filters.savgol(ds, 7, 2)


def features(ds, window: int) -> np.ndarray:
    pos = ds["position"].isel(animal=0)
    sp = kinematics.speed(pos.sel(part="body_centre")).values
    hd = np.unwrap(kinematics.heading(ds, "tail_base", "neck").isel(animal=0).values)
    ang = np.abs(np.gradient(hd)) * ds.attrs["fps"]
    body = np.linalg.norm(pos.sel(part="snout").values - pos.sel(part="tail_base").values, axis=-1)
    fore = np.linalg.norm(pos.sel(part="left_fore_paw").values - pos.sel(part="snout").values,
                          axis=-1)
    paw = kinematics.speed(pos.sel(part=["left_fore_paw", "right_fore_paw"])).mean("part").values
    f = np.stack([np.log1p(sp), np.log1p(ang), body, fore, np.log1p(paw)], -1)
    f = np.where(np.isfinite(f), f, np.nanmedian(f, 0))
    f = uniform_filter1d(f, window, axis=0)
    return (f - f.mean(0)) / (f.std(0) + 1e-9)


def run_seed(seed: int, frames: int, noise_px: float, dropout: float, tmp: Path) -> dict:
    w = synthetic(tmp / f"s{seed}.mp4", n_frames=frames, seed=seed)
    ds = noisy(w.poses, noise_px, dropout, np.random.default_rng(seed))
    paws = [str(p) for p in w.gait["paw"].values]
    truth_st = w.gait["stance"].sel(paw=paws)
    st = gait.stance(ds, paws)
    out = {"stance_acc": float((st.values == truth_st.values).mean())}
    ref = "left_hind_paw"
    tab = gait.stride_table(ds, paws, reference=ref, st=st)
    ttab = gait.stride_table(w.poses, paws, reference=ref, st=truth_st)
    # Compare strides that start on the same truth stride (nearest start within 3 frames).
    errs_d, errs_df, errs_ph = [], [], []
    for _, row in ttab.iterrows():
        near = tab[np.abs(tab["start_frame"] - row["start_frame"]) <= 3]
        if near.empty or row["duration_s"] > 1.0:  # skip strides spanning non-stepping bouts
            continue
        r = near.iloc[0]
        errs_d.append(abs(r["duration_s"] - row["duration_s"]) / row["duration_s"])
        errs_df.append(abs(r["duty_factor"] - row["duty_factor"]))
        for p in paws:
            if p != ref and np.isfinite(r[f"phase_{p}"]) and np.isfinite(row[f"phase_{p}"]):
                d = (r[f"phase_{p}"] - row[f"phase_{p}"] + 0.5) % 1 - 0.5
                errs_ph.append(abs(d))
    out.update(stride_duration_rel_err=float(np.median(errs_d)) if errs_d else np.nan,
               duty_factor_err=float(np.median(errs_df)) if errs_df else np.nan,
               phase_err_cycles=float(np.median(errs_ph)) if errs_ph else np.nan,
               n_strides=len(errs_d))
    truth_b = w.behaviour.isel(animal=0).values
    x = features(ds, window=int(0.5 * ds.attrs["fps"]))
    k = len(np.unique(truth_b))
    pred = bh.GaussianHMM(k, seed=seed).fit(x).predict(x)
    matched = bh.match_states(pred, truth_b)
    out["behaviour_frame_accuracy"] = float(np.mean(matched == truth_b))
    out["boundary_f1_5"] = bh.boundary_f1(matched, truth_b, tolerance=5)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--noise-px", type=float, default=1.5)
    ap.add_argument("--dropout", type=float, default=0.02)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(a.seeds):
            r = run_seed(seed, a.frames, a.noise_px, a.dropout, Path(tmp))
            print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in r.items()), flush=True)
            rows.append(r)
    for key in rows[0]:
        print(f"mean {key}: {np.nanmean([r[key] for r in rows]):.3f}")
    print(f"behaviour_frame_accuracy: {np.mean([r['behaviour_frame_accuracy'] for r in rows]):.3f}")


if __name__ == "__main__":
    main()
