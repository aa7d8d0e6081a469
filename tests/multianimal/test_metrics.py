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
