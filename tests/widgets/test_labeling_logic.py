"""LabelingSession: navigation, edits saved to the SQLite store, keys, progress, layout."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.project.labels import ImageRecord, LabelStore
from poselab.widgets.labeling_logic import (
    LabelingError,
    LabelingSession,
    encode_jpeg,
    figure_layout,
    part_colors,
)

PARTS = ["snout", "left_ear", "right_ear", "tail"]


@pytest.fixture
def store(tmp_path):
    s = LabelStore(tmp_path / "labels.sqlite", PARTS)
    s.add_images([ImageRecord(f"frames/v/img{i:03d}.png", "v.mp4", i, 64, 48) for i in range(3)])
    yield s
    s.close()


def test_place_autoadvance_progress_and_reopen(store, tmp_path):
    s = LabelingSession(store)
    assert s.progress() == "frame 1/3, 0/4 parts" and s.part == "snout"
    assert s.place(10.25, 20.5) == "snout"
    assert s.part == "left_ear"
    s.place(30, 5)
    assert s.progress() == "frame 1/3, 2/4 parts"
    # skip right_ear: tail placed, then auto-advance wraps to the unplaced right_ear
    s.select_part("tail")
    s.place(63.4, 47.4)
    assert s.part == "right_ear"
    # saved at once: a second connection sees exact values
    with LabelStore(tmp_path / "labels.sqlite", PARTS) as other:
        pts = other.points("frames/v/img000.png")
    assert pts[("animal0", "snout")] == (10.25, 20.5, False)
    assert pts[("animal0", "tail")] == (63.4, 47.4, False)
    assert len(pts) == 3


def test_clamp_border_clicks_and_move(store):
    s = LabelingSession(store)
    s.place(-0.9, 48.2)  # a border click a hair outside the image
    assert s.points()["snout"] == (-0.5, 47.5, False)
    s.move("snout", 12.0, 13.5)
    assert s.points()["snout"] == (12.0, 13.5, False)
    assert s.part == "left_ear"  # a drag does not change the active part


def test_navigation_and_jump(store):
    s = LabelingSession(store)
    s.place(1, 1)
    assert s.next() == 1 and s.part == "snout"
    assert s.next() == 2 and s.next() == 2  # stays on the last
    assert s.previous() == 1
    assert s.goto(0) == 0 and s.part == "left_ear"  # first unplaced part
    assert s.goto(99) == 2
    with pytest.raises(LabelingError):
        s.goto("1")  # type: ignore[arg-type]


def test_delete_undoes_last_click_then_active(store):
    s = LabelingSession(store)
    s.place(5, 6)  # snout; active moves to left_ear (unplaced)
    assert s.delete() == "snout"  # deletes the click just made, not left_ear
    assert s.points() == {} and s.part == "snout"
    assert s.delete() is None  # nothing placed
    s.place(5, 6)
    s.select_part("snout")
    assert s.delete() == "snout"


def test_occluded_toggle_keeps_position(store):
    s = LabelingSession(store)
    s.place(7, 8)
    s.select_part("snout")
    s.mark_occluded()
    assert s.points()["snout"] == (7.0, 8.0, True)
    assert s.part == "left_ear"
    s.mark_occluded()  # left_ear hidden without a position
    assert s.points()["left_ear"] == (None, None, True)
    assert s.progress() == "frame 1/3, 2/4 parts"
    s.mark_occluded("snout")
    assert s.points()["snout"] == (7.0, 8.0, False)


def test_keys_and_voila_duplicate_dedupe(store):
    s = LabelingSession(store)
    ev = {"type": "keydown", "key": "n", "timeStamp": 1234.5}
    assert s.handle_key(ev) == "next" and s.index == 1
    assert s.handle_key(dict(ev)) is None and s.index == 1  # duplicate: same timeStamp
    assert s.handle_key({**ev, "timeStamp": 1300.0}) == "next" and s.index == 2
    assert s.handle_key({"type": "keydown", "key": "ArrowLeft", "timeStamp": 1}) == "previous"
    assert s.index == 1
    assert s.handle_key({"type": "keydown", "key": "j", "timeStamp": 2}) == "next_part"
    assert s.part == "left_ear"
    assert s.handle_key({"type": "keydown", "key": "z", "timeStamp": 3}) == "zoom" and s.zoom
    assert s.handle_key({"type": "keydown", "key": "n", "ctrlKey": True, "timeStamp": 4}) is None
    assert s.handle_key({"type": "keydown", "key": "q", "timeStamp": 5}) is None
    s.place(3, 4)  # left_ear
    assert s.handle_key({"type": "keydown", "key": "x", "timeStamp": 6}) == "delete"
    assert s.points() == {}
    with pytest.raises(LabelingError, match="unknown key actions"):
        LabelingSession(store, keymap={"a": "fly"})


def test_errors(tmp_path, store):
    with LabelStore(tmp_path / "empty.sqlite", PARTS) as empty, pytest.raises(LabelingError, match="no images"):
        LabelingSession(empty)
    s = LabelingSession(store)
    with pytest.raises(LabelingError, match="unknown part"):
        s.select_part("wing")
    with pytest.raises(LabelingError, match="unknown animal"):
        LabelingSession(store, animal="mouse9")


def test_layout_keeps_aspect_and_jpeg():
    lay = figure_layout(640, 480, display_width=600, marker_size=64, margin=3)
    pad, m = lay["padding"], 3
    assert pad == 5.0
    img_w = lay["fig_width"] - 2 * m - 2 * pad
    img_h = lay["fig_height"] - 2 * m - 2 * pad
    assert img_w / img_h == pytest.approx(640 / 480, abs=1e-12)
    assert (img_w, img_h) == (600, 450)
    flat = figure_layout(640, 480, display_width=640, margin=0, allow_padding=False)
    assert (flat["fig_width"], flat["fig_height"], flat["padding"]) == (640, 480, 0.0)
    rgb = np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)
    data = encode_jpeg(rgb)
    assert data[:2] == b"\xff\xd8"
    assert part_colors(PARTS)["snout"] != part_colors(PARTS)["left_ear"]
    with pytest.raises(LabelingError):
        figure_layout(0, 10)


def test_skeleton_segments_between_placed_parts(store):
    s = LabelingSession(store, skeleton=[["snout", "left_ear"], ["snout", "right_ear"], ["snout", "tail"]])
    np.testing.assert_array_equal(s.limbs, [[0, 1], [0, 2], [0, 3]])
    assert s.segments().shape == (0, 2, 2)
    s.place(10.0, 20.0)  # snout
    s.place(30.0, 5.0)  # left_ear
    s.mark_occluded("tail")  # hidden and never placed: no position, no line
    s.place(12.0, 40.0)  # right_ear
    np.testing.assert_array_equal(s.segments(), [[[10.0, 20.0], [30.0, 5.0]], [[10.0, 20.0], [12.0, 40.0]]])
    with pytest.raises(LabelingError, match="'wing' is not a part"):
        LabelingSession(store, skeleton=[["snout", "wing"]])


def test_keydown_key_and_skeleton_segments_helpers():
    from poselab.widgets.labeling_logic import keydown_key, skeleton_segments

    key, last = keydown_key({"type": "keydown", "key": "n", "timeStamp": 5.0}, None)
    assert key == "n" and last == ("keydown", "n", 5.0)
    assert keydown_key({"type": "keydown", "key": "n", "timeStamp": 5.0}, last) == (None, last)  # Voila's copy
    assert keydown_key({"type": "keydown", "key": "n", "timeStamp": 6.0, "ctrlKey": True}, last)[0] is None
    assert keydown_key({"type": "keyup", "key": "n", "timeStamp": 7.0}, last) == (None, last)
    xy = np.array([[[0.0, 1.0], [2.0, 3.0], [np.nan, 5.0]], [[6.0, 7.0], [8.0, 9.0], [10.0, 11.0]]])
    segments = skeleton_segments(xy, np.array([[0, 1], [1, 2]]))
    np.testing.assert_array_equal(segments, [[[0, 1], [2, 3]], [[6, 7], [8, 9]], [[8, 9], [10, 11]]])
