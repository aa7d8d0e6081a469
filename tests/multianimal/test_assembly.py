"""Peaks and PAF assembly, on DeepLabCut's real 3-mouse network output and on drawn fields."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from poselab.io import read_deeplabcut
from poselab.multianimal import (
    AssemblyError,
    PeakError,
    all_pairs,
    assemble,
    assemble_batch,
    find_peaks,
    from_deeplabcut_outputs,
    limb_affinity,
    limb_length_limits,
    render_pafs,
    skeleton_from_labels,
)

STRIDE = 8


@pytest.fixture(scope="module")
def dlc_outputs(shared_data):
    # DeepLabCut's own test pickle (trusted fixture): scoremap, locref, paf of image.png
    with open(shared_data / "dlc-tests-data-2021" / "outputs.pickle", "rb") as f:
        scmap, locref, paf = pickle.load(f)
    return from_deeplabcut_outputs(scmap, locref, paf)


@pytest.fixture(scope="module")
def trimouse_labels(shared_data):
    return read_deeplabcut(shared_data / "dlc-tests-data-2021" / "trimouse_calib.h5")


def test_layouts(dlc_outputs):
    s, l, p = dlc_outputs
    assert s.shape == (1, 12, 60, 80) and l.shape == (1, 12, 2, 60, 80)
    assert p.shape == (1, 66, 2, 60, 80)
    assert all_pairs(12).shape == (66, 2) and all_pairs(12)[0].tolist() == [0, 1]
    assert all_pairs(12)[-1].tolist() == [10, 11]


def test_peaks_three_per_part(dlc_outputs):
    s, l, _ = dlc_outputs
    c = find_peaks(s, l, STRIDE, threshold=0.5)
    assert c.count().tolist() == [[3] * 12]
    # each candidate lies within one cell of its peak cell's centre (locref refines)
    raw = find_peaks(s, None, STRIDE, threshold=0.5)
    shift = np.linalg.norm(c.xy - raw.xy, axis=-1)
    assert np.nanmax(shift) < STRIDE
    assert np.all(c.score[np.isfinite(c.score)] >= 0.5)


def test_locref_layout_is_interleaved(dlc_outputs, shared_data):
    """Offsets of the cells around a peak agree best with DeepLabCut's (x, y) per part layout."""
    s, l, _ = dlc_outputs
    with open(shared_data / "dlc-tests-data-2021" / "outputs.pickle", "rb") as f:
        raw_locref = pickle.load(f)[1]
    blocked = raw_locref.reshape(1, 60, 80, 2, 12).transpose(0, 4, 3, 1, 2)
    peaks = find_peaks(s, None, STRIDE, threshold=0.5)

    def spread(lr):
        out = []
        for part in range(12):
            for x, y in peaks.xy[0, part, :3]:
                j, i = int(round((x - 3.5) / 8)), int(round((y - 3.5) / 8))
                rows = np.clip(np.arange(i - 1, i + 2), 0, 59)
                cols = np.clip(np.arange(j - 1, j + 2), 0, 79)
                ii, jj = np.meshgrid(rows, cols, indexing="ij")
                pts = np.stack([jj * 8 + 3.5 + lr[0, part, 0, ii, jj] * 7.2801,
                                ii * 8 + 3.5 + lr[0, part, 1, ii, jj] * 7.2801], -1).reshape(-1, 2)
                out.append(np.linalg.norm(pts - pts.mean(0), axis=1).mean())
        return np.mean(out)

    assert spread(l) < 0.7 * spread(blocked)


def test_paf_channels_follow_combinations(dlc_outputs, shared_data):
    """132 channels = 66 limbs of itertools.combinations(range(12), 2), (x, y) interleaved."""
    s, l, p = dlc_outputs
    cands = find_peaks(s, l, STRIDE, threshold=0.5).frame(0)
    graph = all_pairs(12)

    def mean_best(pafs):
        best = []
        for i, (a, b) in enumerate(graph):
            aff = limb_affinity(pafs[0, i], cands[a][:, :2], cands[b][:, :2], STRIDE)
            r, c = linear_sum_assignment(aff, maximize=True)
            best.append(aff[r, c].mean())
        return float(np.mean(best))

    with open(shared_data / "dlc-tests-data-2021" / "outputs.pickle", "rb") as f:
        raw = pickle.load(f)[2]
    blocked = raw.reshape(1, 60, 80, 2, 66).transpose(0, 4, 3, 1, 2)
    right, wrong_blocked = mean_best(p), mean_best(blocked)
    wrong_shift = mean_best(np.roll(p, 1, axis=1))
    assert right > 0.5
    assert right > wrong_blocked + 0.3 and right > wrong_shift + 0.1


@pytest.mark.parametrize("use_skeleton", [False, True])
def test_three_complete_mice(dlc_outputs, trimouse_labels, use_skeleton):
    s, l, p = dlc_outputs
    cands = find_peaks(s, l, STRIDE, threshold=0.1)
    skeleton = skeleton_from_labels(trimouse_labels) if use_skeleton else None
    (animals,) = assemble_batch(cands, p, STRIDE, skeleton=skeleton, max_individuals=3)
    assert animals.shape == (3, 12, 3)
    assert np.isfinite(animals).all()
    peaks = find_peaks(s, None, STRIDE, threshold=0.5)
    errors = []
    for part in range(12):
        # every animal's part is within a few pixels of a distinct scoremap peak of that part
        d = np.linalg.norm(animals[:, part, None, :2] - peaks.xy[0, part, None, :3], axis=-1)
        r, c = linear_sum_assignment(d)
        # peak cells are 8 px wide; locref moves a part at most one cell from its peak's centre
        assert sorted(c.tolist()) == [0, 1, 2] and d[r, c].max() < STRIDE
        errors.append(d[r, c])
    assert np.median(errors) < 4.0
    # bodies are compact: every part within 250 px of its animal's centroid, animals far apart
    centroid = animals[:, :, :2].mean(1)
    assert np.linalg.norm(animals[:, :, :2] - centroid[:, None], axis=-1).max() < 250
    between = np.linalg.norm(centroid[:, None] - centroid[None], axis=-1)
    assert between[np.triu_indices(3, 1)].min() > 100
    # parts of one animal are chained along the body: snout-to-tailend path is the longest span
    spans = np.linalg.norm(animals[:, 0, :2] - animals[:, 11, :2], axis=-1)
    assert np.all(spans > 100)


def test_matches_deeplabcut_candidates(dlc_outputs, shared_data):
    """Our refined peaks agree with DeepLabCut's assembled positions of the same frame."""
    with open(shared_data / "dlc-tests-data-2021" / "trimouse_assemblies.pickle", "rb") as f:
        dlc = np.stack(pickle.load(f)[0])[:, :, :2]  # (3, 12, 2), DeepLabCut 2.2 on this video
    s, l, p = dlc_outputs
    ours = assemble(find_peaks(s, l, STRIDE).frame(0), p[0], STRIDE, max_individuals=3)[:, :, :2]
    d = np.linalg.norm(ours.mean(1)[:, None] - dlc.mean(1)[None], axis=-1)
    r, c = linear_sum_assignment(d)
    err = np.linalg.norm(ours[r] - dlc[c], axis=-1)
    assert np.median(err) < 4.0 and err.max() < 15.0


def test_skeleton_from_trimouse_labels(trimouse_labels):
    sk = skeleton_from_labels(trimouse_labels)
    assert sk.shape == (11, 2)
    # a spanning tree: all 12 parts connected
    seen, frontier = {0}, [0]
    while frontier:
        n = frontier.pop()
        for a, b in sk:
            for u, v in ((a, b), (b, a)):
                if u == n and v not in seen:
                    seen.add(v)
                    frontier.append(v)
    assert seen == set(range(12))
    # the spine chain is rigid and short: consecutive spine parts are linked
    limbs = {tuple(x) for x in sk.tolist()}
    assert {(3, 4), (4, 5), (5, 6), (6, 7)} <= limbs


def test_rendered_fields_assemble_crossing_animals():
    """Two animals in an X: drawn fields still separate them exactly."""
    kp = np.array(
        [
            [[40.0, 40.0], [100.0, 100.0], [160.0, 160.0]],
            [[160.0, 40.0], [100.0, 112.0], [40.0, 160.0]],
        ]
    )
    graph = all_pairs(3)
    pafs = render_pafs(kp, graph, (25, 25), STRIDE, width=12)
    cands = [np.column_stack([kp[:, p], np.ones(2)]) for p in range(3)]
    out = assemble(cands, pafs, STRIDE, skeleton=[[0, 1], [1, 2]])
    assert out.shape == (2, 3, 3)
    got = sorted(out[:, :, :2].tolist())
    assert np.array_equal(np.array(got), np.array(sorted(kp.tolist())))


def test_errors():
    with pytest.raises(PeakError):
        find_peaks(np.zeros((12, 60, 80)))
    with pytest.raises(AssemblyError):
        assemble([np.zeros((1, 3))] * 3, np.zeros((2, 2, 5, 5)), STRIDE)
    with pytest.raises(AssemblyError):
        assemble([np.zeros((1, 3))] * 3, np.zeros((3, 2, 5, 5)), STRIDE, skeleton=[[0, 3]])


def test_skeleton_extra_limbs_and_length_limits(trimouse_labels):
    tree = skeleton_from_labels(trimouse_labels)
    dense = skeleton_from_labels(trimouse_labels, n_limbs=17)
    assert dense.shape == (17, 2)
    assert {tuple(x) for x in tree.tolist()} <= {tuple(x) for x in dense.tolist()}
    assert len({tuple(x) for x in dense.tolist()}) == 17
    with pytest.raises(AssemblyError):
        skeleton_from_labels(trimouse_labels, n_limbs=5)
    limits = limb_length_limits(trimouse_labels, tree, n_std=0.0, slack=1.0, margin=0.0)
    pos = trimouse_labels["position"].values
    d = np.linalg.norm(pos[:, tree[:, 0]] - pos[:, tree[:, 1]], axis=-1)  # (animal, limb, frame)
    assert np.allclose(limits, np.nanmean(np.moveaxis(d, 1, 0).reshape(len(tree), -1), axis=1))


def test_max_length_forbids_long_links():
    """A blurred field (+x everywhere) supports any left-to-right pair; lengths decide."""
    pafs = np.zeros((1, 2, 25, 40), np.float32)
    pafs[0, 0] = 1.0
    cands = [
        np.array([[40.0, 100.0, 1.0], [120.0, 100.0, 1.0]]),
        np.array([[100.0, 100.0, 1.0], [300.0, 100.0, 1.0]]),
    ]
    free = assemble(cands, pafs, STRIDE, min_parts=2)
    limited = assemble(cands, pafs, STRIDE, min_parts=2, max_length=[70.0])
    assert free.shape == (2, 2, 3)
    assert limited.shape == (1, 2, 3)
    assert limited[0, :, :2].tolist() == [[40.0, 100.0], [100.0, 100.0]]
