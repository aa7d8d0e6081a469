"""OKS, mAP, MOTA, IDF1 and switches on hand-made fixtures with exact expected values."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.core import poses
from poselab.multianimal import MetricsError, average_precision, oks, tracking_metrics


def _two_animals(n_frames: int = 10) -> np.ndarray:
    """(animal, part, frame, 2): two static 2-part animals 200 px apart."""
    base = np.array([[[0.0, 0.0], [20.0, 0.0]], [[200.0, 0.0], [220.0, 0.0]]])
    return np.repeat(base[:, :, None, :], n_frames, axis=2) + 50.0


def test_oks_exact():
    gt = np.array([[[0.0, 0.0], [10.0, 10.0]]])
    pred = gt + np.array([1.0, 0.0])
    expected = np.exp(-1.0 / (2 * 100.0 * (2 * 0.1) ** 2))
    assert oks(gt, pred, 0.1)[0, 0] == pytest.approx(expected, rel=1e-12)
    # a missing predicted part counts zero; a missing true part is not counted
    miss = pred.copy()
    miss[0, 1] = np.nan
    assert oks(gt, miss, 0.1)[0, 0] == pytest.approx(expected / 2, rel=1e-12)
    # per-part sigmas and margin
    got = oks(gt, pred, np.array([0.1, 0.2]), margin=5.0)[0, 0]
    area = 20.0 * 20.0
    assert got == pytest.approx(
        (np.exp(-1 / (2 * area * 0.04)) + np.exp(-1 / (2 * area * 0.16))) / 2, rel=1e-12
    )


def test_map_perfect_and_half():
    truth = poses.from_arrays(_two_animals(4))
    assert average_precision(truth, truth)["mAP"] == pytest.approx(1.0)
    assert average_precision(truth, truth)["mAR"] == pytest.approx(1.0)
    # one frame, one of two animals predicted exactly: precision 1 up to recall 0.5
    half = _two_animals(1)
    half[1] = np.nan
    res = average_precision(poses.from_arrays(_two_animals(1)), poses.from_arrays(half))
    assert res["mAP"] == pytest.approx(51 / 101)
    assert res["mAR"] == pytest.approx(0.5)
    # a low-scoring false positive ranked after the hit does not lower AP below the envelope
    fp = np.concatenate([_two_animals(1)[:1], _two_animals(1)[:1] + 500], axis=0)
    lk = np.ones(fp.shape[:3])
    lk[1] = 0.1
    res = average_precision(poses.from_arrays(_two_animals(1)), poses.from_arrays(fp, lk))
    assert res["mAP"] == pytest.approx(51 / 101) and res["n_pred"] == 2


def test_perfect_tracks():
    truth = poses.from_arrays(_two_animals())
    m = tracking_metrics(truth, truth)
    assert m["mota"] == 1.0 and m["idf1"] == 1.0 and m["id_switches"] == 0
    assert m["matches"] == 20 and m["false_negatives"] == 0 and m["false_positives"] == 0


def test_one_swap_counts_two_switches():
    truth = poses.from_arrays(_two_animals())
    pred = _two_animals()
    pred[:, :, 5:] = pred[::-1, :, 5:]
    m = tracking_metrics(truth, poses.from_arrays(pred))
    assert m["id_switches"] == 2  # both animals change identity
    assert m["switch_events"] == [(5, "animal0"), (5, "animal1")]
    assert m["switch_partners"] == ["animal1", "animal0"]  # they traded with each other
    assert m["mota"] == pytest.approx(1 - 2 / 20)
    assert m["idf1"] == pytest.approx(0.5)
    assert m["switches_per_1000_frames"] == pytest.approx(200.0)


def test_one_broken_track_is_one_switch():
    truth = poses.from_arrays(_two_animals())
    pred = np.full((3, 2, 10, 2), np.nan)
    pred[:2] = _two_animals()
    pred[2, :, 5:] = pred[0, :, 5:]  # animal 0 continues under a new identity
    pred[0, :, 5:] = np.nan
    m = tracking_metrics(truth, poses.from_arrays(pred))
    assert m["id_switches"] == 1
    assert m["switch_partners"] == [None]  # a new identity: nobody traded
    assert m["mota"] == pytest.approx(1 - 1 / 20)
    assert m["idf1"] == pytest.approx(2 * 15 / 40)
    assert m["idp"] == pytest.approx(15 / 20) and m["idr"] == pytest.approx(15 / 20)


def test_misses_and_false_positives():
    truth = poses.from_arrays(_two_animals())
    pred = np.concatenate([_two_animals(), np.full((1, 2, 10, 2), np.nan)])
    pred[1, :, :2] = np.nan  # animal 1 missed in frames 0, 1
    pred[2, :, 3] = [[900.0, 900.0], [920.0, 900.0]]  # a phantom in frame 3
    m = tracking_metrics(truth, poses.from_arrays(pred))
    assert m["false_negatives"] == 2 and m["false_positives"] == 1 and m["id_switches"] == 0
    assert m["mota"] == pytest.approx(1 - 3 / 20)
    assert m["idf1"] == pytest.approx(2 * 18 / (20 + 19))
    # a match radius is a radius: a 3 px offset matches at 5 px, not at 2 px
    shifted = poses.from_arrays(_two_animals() + np.array([3.0, 0.0]))
    assert tracking_metrics(truth, shifted, max_distance=5.0)["matches"] == 20
    assert tracking_metrics(truth, shifted, max_distance=2.0)["matches"] == 0


def test_mismatched_parts():
    truth = poses.from_arrays(_two_animals(), parts=["a", "b"])
    with pytest.raises(MetricsError):
        tracking_metrics(truth, poses.from_arrays(_two_animals(), parts=["a", "c"]))


def test_real_trimouse_labels(shared_data):
    """DeepLabCut's 3-mouse labels (500 crops of 25 images): mAP ignores identity, IDF1 not."""
    from poselab.io import read_deeplabcut

    truth = read_deeplabcut(shared_data / "dlc-tests-data-2021" / "trimouse_calib.h5")
    truth = truth.drop_vars("image", errors="ignore")
    pos = truth["position"].values
    rng = np.random.default_rng(0)
    order = np.argsort(rng.random((3, pos.shape[2])), axis=0)  # a random animal order per frame
    shuffled = np.take_along_axis(pos, order[:, None, :, None], axis=0)
    pred = poses.from_arrays(shuffled, parts=[str(p) for p in truth["part"].values])
    truth = poses.from_arrays(pos, parts=[str(p) for p in truth["part"].values])
    assert average_precision(truth, pred)["mAP"] == pytest.approx(1.0)
    m = tracking_metrics(truth, pred)
    assert m["mota"] < 1.0 and m["id_switches"] > 100 and m["idf1"] < 0.8
    # more keypoint noise, lower mAP; AP50 is the lenient end
    n = list(truth["part"].values)
    small, large = (
        average_precision(truth, poses.from_arrays(pos + rng.normal(0, sd, pos.shape), parts=n))
        for sd in (0.5, 3.0)
    )
    # crops often show only a part or two of an animal: tiny boxes make OKS strict
    assert 1.0 > small["mAP"] > large["mAP"] + 0.1
    assert large["AP50"] > large["mAP"]


# --- against the reference implementations: py-motmetrics (CLEAR-MOT, IDF1) and pycocotools ----


def _motmetrics(g: np.ndarray, p: np.ndarray, max_distance: float, order=None) -> dict:
    """py-motmetrics on (animal, part, frame, 2) arrays, with our distance: the mean part
    distance over the parts both know, pairs farther than ``max_distance`` not matchable.
    ``order``: the order in which the truth animals are given to motmetrics."""
    mm = pytest.importorskip("motmetrics")
    acc = mm.MOTAccumulator(auto_id=True)
    order = np.arange(len(g)) if order is None else np.asarray(order)
    for f in range(g.shape[2]):
        gf, pf = g[order, :, f], p[:, :, f]
        g_on = np.flatnonzero(np.isfinite(gf[..., 0]).any(-1))
        p_on = np.flatnonzero(np.isfinite(pf[..., 0]).any(-1))
        d = np.linalg.norm(gf[g_on][:, None] - pf[p_on][None], axis=-1)
        common = np.isfinite(d)
        mean = np.where(common, d, 0).sum(-1) / np.maximum(common.sum(-1), 1)
        dist = np.where(common.any(-1) & (mean <= max_distance), mean, np.nan)
        acc.update(order[g_on].tolist(), p_on.tolist(), dist.reshape(len(g_on), len(p_on)))
    names = ["mota", "idf1", "idp", "idr", "num_switches", "num_false_positives", "num_misses",
             "num_matches", "num_objects", "num_predictions"]
    return mm.metrics.create().compute(acc, metrics=names, name="run").iloc[0].to_dict()


def _assert_same_as_motmetrics(g: np.ndarray, p: np.ndarray, max_distance: float) -> dict:
    ours = tracking_metrics(poses.from_arrays(g), poses.from_arrays(p), max_distance=max_distance)
    ref = _motmetrics(g, p, max_distance)
    # Counts exactly; MOTA and IDF1 are ratios of the same integers (IDTP from motmetrics'
    # min-cost flow as a float): equal to 1e-12. motmetrics counts a switch as a SWITCH event
    # instead of a MATCH, so our matches (every matched pair) are its matches + switches.
    assert ours["id_switches"] == ref["num_switches"]
    assert ours["false_negatives"] == ref["num_misses"]
    assert ours["false_positives"] == ref["num_false_positives"]
    assert ours["matches"] == ref["num_matches"] + ref["num_switches"]
    assert (ours["n_truth"], ours["n_pred"]) == (ref["num_objects"], ref["num_predictions"])
    for key in ("mota", "idf1", "idp", "idr"):
        assert ours[key] == pytest.approx(ref[key], rel=1e-12, abs=1e-12), key
    return ours


def _tracking_case(seed: int, n_animals: int = 4, n_frames: int = 60, n_parts: int = 3):
    """Animals on random walks with unknown parts and absent frames; predictions with noise,
    identity swaps, missed animals, a phantom, jumps outside the match radius and a track that
    continues under a new identity half way."""
    rng = np.random.default_rng(seed)
    g = (rng.uniform(0, 300, (n_animals, 1, 1, 2))
         + np.cumsum(rng.normal(0, 3, (n_animals, 1, n_frames, 2)), axis=2)
         + rng.normal(0, 8, (n_animals, n_parts, 1, 2)))
    g[np.broadcast_to((rng.random((n_animals, 1, n_frames)) < 0.05)[..., None], g.shape)] = np.nan
    g[rng.random(g.shape[:3]) < 0.1] = np.nan
    p = np.concatenate([g + rng.normal(0, 1.5, g.shape), np.full((2,) + g.shape[1:], np.nan)])
    for _ in range(3):
        a, b = rng.choice(n_animals, 2, replace=False)
        f = rng.integers(1, n_frames)
        p[[a, b], :, f:] = p[[b, a], :, f:]
    p[np.broadcast_to((rng.random((n_animals + 2, 1, n_frames)) < 0.08)[..., None], p.shape)] = np.nan
    for f in np.flatnonzero(rng.random(n_frames) < 0.2):
        p[n_animals, :, f] = rng.uniform(0, 300, (n_parts, 2))
    far = np.broadcast_to((rng.random((n_animals, 1, n_frames)) < 0.05)[..., None], g.shape)
    p[:n_animals][far] += 40.0
    half = n_frames // 2
    p[n_animals + 1, :, half:] = p[0, :, half:]
    p[0, :, half:] = np.nan
    return g, p


def test_tracking_metrics_equal_motmetrics_on_constructed_tracks():
    for seed in range(40):
        g, p = _tracking_case(seed)
        _assert_same_as_motmetrics(g, p, max_distance=10.0)
    # the hand-made cases above, too
    swap = _two_animals()
    swap[:, :, 5:] = swap[::-1, :, 5:]
    broken = np.full((3, 2, 10, 2), np.nan)
    broken[:2] = _two_animals()
    broken[2, :, 5:], broken[0, :, 5:] = broken[0, :, 5:], np.nan
    for pred in (_two_animals(), swap, broken):
        _assert_same_as_motmetrics(_two_animals(), pred, max_distance=10.0)


def test_a_mapping_outlasts_a_missed_frame():
    """CLEAR-MOT keeps a truth animal's mapping until it is replaced, also across frames in which
    the animal was not matched: here identity 0 drops out for one frame and comes back 3 px away,
    while identity 1 appears 1 px away. The mapping to 0 holds (no switch); choosing the nearer 1
    (as this function did before it was compared with motmetrics) counted a switch."""
    g = np.zeros((1, 1, 3, 2))  # one truth animal at the origin in frames 0-2
    p = np.full((2, 1, 3, 2), np.nan)
    p[0, 0, [0, 2]] = [3.0, 0.0]
    p[1, 0, 2] = [1.0, 0.0]
    m = _assert_same_as_motmetrics(g, p, max_distance=5.0)
    assert m["id_switches"] == 0 and m["false_negatives"] == 1 and m["false_positives"] == 1


def test_identity_claimed_by_two_animals_is_kept_by_its_latest():
    """The one definitional difference from motmetrics. Identity 0 follows animal 0, then (while
    animal 0 is away) animal 1; when both animals are within reach of it, motmetrics gives it to
    whichever truth animal it is handed first (both keep a mapping to it), so its figures depend
    on the order of the truth animals. Here the identity stays with the animal it was matched to
    last (animal 1), whatever the order, which equals motmetrics with animal 1 handed first."""
    g = np.full((2, 1, 3, 2), np.nan)
    p = np.full((3, 1, 3, 2), np.nan)
    g[:, 0, 0], p[:2, 0, 0] = [[0.0, 0.0], [100.0, 0.0]], [[0.0, 0.0], [100.0, 0.0]]
    g[1, 0, 1], p[0, 0, 1] = [50.0, 0.0], [50.0, 0.0]  # animal 0 away; identity 0 on animal 1
    g[:, 0, 2] = [[54.0, 0.0], [50.0, 0.0]]  # both near identity 0 (52) ...
    p[0, 0, 2], p[2, 0, 2] = [52.0, 0.0], [57.0, 0.0]  # ... identity 2 near animal 0 only
    ours = tracking_metrics(poses.from_arrays(g), poses.from_arrays(p), max_distance=5.0)
    again = tracking_metrics(poses.from_arrays(g[::-1]), poses.from_arrays(p), max_distance=5.0)
    # switches: animal 1 to identity 0 in frame 1, animal 0 to identity 2 in frame 2
    assert (ours["id_switches"], ours["false_negatives"], ours["false_positives"]) == (2, 0, 0)
    for key in ("mota", "idf1", "id_switches", "matches"):
        assert ours[key] == again[key]
    first, latest = _motmetrics(g, p, 5.0, order=[0, 1]), _motmetrics(g, p, 5.0, order=[1, 0])
    assert (latest["num_switches"], latest["num_misses"], latest["num_false_positives"]) == (2, 0, 0)
    assert ours["mota"] == pytest.approx(latest["mota"], rel=1e-12)
    # animal 0 handed first: it keeps identity 0, animal 1 (identity 2 out of reach) is missed
    assert (first["num_switches"], first["num_misses"], first["num_false_positives"]) == (1, 1, 1)


def _coco(g: np.ndarray, p: np.ndarray, lk: np.ndarray, sigma: float = 0.1,
          margin: float = 0.0):
    """pycocotools' keypoint evaluation of (animal, part, frame, 2) truth and predictions.

    Truth parts that are NaN are unlabeled (visibility 0); each truth's ``area`` is its
    bounding box (grown by ``margin``), as our OKS takes it. A part a prediction misses is put
    1e4 px away (OKS term 0; the detection's box stays under COCO's 1e10 px^2 area limit).
    Returns the COCOeval object (evaluated and accumulated).
    """
    import contextlib
    import io

    coco = pytest.importorskip("pycocotools.coco")
    cocoeval = pytest.importorskip("pycocotools.cocoeval")
    n_parts, n_frames = g.shape[1], g.shape[2]
    images, anns, dets = [], [], []
    for f in range(n_frames):
        images.append({"id": f + 1})
        for kp in g[:, :, f]:
            vis = np.isfinite(kp[:, 0])
            if not vis.any():
                continue
            lo, hi = kp[vis].min(0) - margin, kp[vis].max(0) + margin
            flat = np.zeros((n_parts, 3))
            flat[vis, :2], flat[vis, 2] = kp[vis], 2
            anns.append({"id": len(anns) + 1, "image_id": f + 1, "category_id": 1, "iscrowd": 0,
                         "keypoints": flat.ravel().tolist(), "num_keypoints": int(vis.sum()),
                         "area": float(np.prod(hi - lo)),
                         "bbox": [*lo.tolist(), *(hi - lo).tolist()]})
        for kp, score in zip(p[:, :, f], lk[:, :, f]):
            known = np.isfinite(kp[:, 0])
            if not known.any():
                continue
            flat = np.ones((n_parts, 3))
            flat[:, :2] = np.where(known[:, None], kp, 1e4)
            dets.append({"image_id": f + 1, "category_id": 1, "keypoints": flat.ravel().tolist(),
                         "score": float(np.mean(score[known]))})
    gt = coco.COCO()
    gt.dataset = {"images": images, "annotations": anns,
                  "categories": [{"id": 1, "name": "animal", "skeleton": [],
                                  "keypoints": [str(i) for i in range(n_parts)]}]}
    with contextlib.redirect_stdout(io.StringIO()):
        gt.createIndex()
        ev = cocoeval.COCOeval(gt, gt.loadRes(dets), "keypoints")
        ev.params.kpt_oks_sigmas = np.full(n_parts, sigma)
        ev.params.maxDets = [20]
        ev.params.areaRng, ev.params.areaRngLbl = [[0, 1e10]], ["all"]
        ev.evaluate()
        ev.accumulate()
    return ev


def _pose_case(seed: int):
    """2-4 animals of 5 parts in 6 frames; 20 % of the truth's parts unlabeled; predictions of
    every animal (noise of 0.5, 2 or 6 px, shuffled identities) plus two false animals, 10 % of
    predicted parts and 15 % of predicted animals missing; random scores."""
    rng = np.random.default_rng(seed)
    n, n_parts, n_frames = int(rng.integers(2, 5)), 5, 6
    g = rng.uniform(0, 400, (n, 1, n_frames, 2)) + rng.normal(0, 15, (n, n_parts, n_frames, 2))
    g[rng.random(g.shape[:3]) < 0.2] = np.nan
    p = np.concatenate([g, rng.uniform(0, 400, (2, 1, n_frames, 2))
                        + rng.normal(0, 15, (2, n_parts, n_frames, 2))])
    p[:n] += rng.normal(0, 1, g.shape) * rng.choice([0.5, 2.0, 6.0], (n, 1, n_frames, 1))
    p[:n] = p[rng.permutation(n)]
    p[rng.random(p.shape[:3]) < 0.1] = np.nan
    p[np.broadcast_to((rng.random((n + 2, 1, n_frames)) < 0.15)[..., None], p.shape)] = np.nan
    return g, p, rng.uniform(0.1, 1.0, p.shape[:3])


def test_oks_equals_pycocotools():
    g, p, lk = _pose_case(0)
    ev = _coco(g, p, lk)
    for f in range(g.shape[2]):
        ref = ev.ious[(f + 1, 1)]  # (detections by descending score, truths)
        gf = g[:, :, f][np.isfinite(g[:, :, f, 0]).any(-1)]
        keep = np.isfinite(p[:, :, f, 0]).any(-1)
        pf = p[keep, :, f]
        scores = np.array([lk[b, np.isfinite(p[b, :, f, 0]), f].mean() for b in np.flatnonzero(keep)])
        ours = oks(gf, pf[np.argsort(-scores, kind="stable")], 0.1)
        if len(gf) and len(pf):
            # pycocotools divides by area + 2.2e-16 and sums in another order
            np.testing.assert_allclose(ours.T, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("margin", [0.0, 5.0])
def test_average_precision_equals_pycocotools(margin):
    for seed in range(25):
        g, p, lk = _pose_case(seed)
        ours = average_precision(poses.from_arrays(g), poses.from_arrays(p, lk), sigmas=0.1,
                                 margin=margin)
        ev = _coco(g, p, lk, margin=margin)
        precision = ev.eval["precision"][:, :, 0, 0, 0]  # (OKS thresholds, 101 recall levels)
        recall = ev.eval["recall"][:, 0, 0, 0]
        # Same matching (greedy by score, best unmatched OKS >= threshold) and the same 101-point
        # interpolation: equal but for rounding (1e-12).
        assert ours["mAP"] == pytest.approx(precision.mean(), abs=1e-12)
        assert ours["AP50"] == pytest.approx(precision[0].mean(), abs=1e-12)
        assert ours["AP75"] == pytest.approx(precision[5].mean(), abs=1e-12)
        assert ours["mAR"] == pytest.approx(recall.mean(), abs=1e-12)
        assert ours["n_truth"] == int(np.isfinite(g[..., 0]).any(1).sum())
