"""LabelingSession: navigation, edits saved to the SQLite store, keys, progress, layout."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.project.labels import ImageRecord, LabelStore
from poselab.widgets.labeling_logic import (
    LEGEND_KEY,
    PANZOOM_BANNER,
    PART_SYMBOLS,
    LabelingError,
    LabelingSession,
    encode_jpeg,
    figure_layout,
    is_click,
    label_positions,
    legend_html,
    part_colors,
    part_states,
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


# --- issue 20: occluded marks, readable names, pan/zoom mode ----------------------------------------


def test_occluded_parts_have_their_own_state_and_legend_mark(store):
    s = LabelingSession(store)
    s.place(7.0, 8.0)  # snout placed
    s.mark_occluded("left_ear")  # occluded, no position
    s.place(20.0, 21.0)  # right_ear placed (auto-advance went past left_ear)
    s.mark_occluded("right_ear")  # occluded, keeps its position
    assert s.states() == {"snout": "placed", "left_ear": "occluded", "right_ear": "occluded",
                          "tail": "unplaced"}
    assert part_states(["a", "b", "c"], {"a": (1.0, 2.0, False), "b": (None, None, True)}) == {
        "a": "placed", "b": "occluded", "c": "unplaced"}
    # each state its own mark (the old legend showed ■ for occluded parts too)
    assert PART_SYMBOLS == {"placed": "■", "unplaced": "□", "occluded": "⊘"}
    html = legend_html(s.states(), "tail", part_colors(PARTS))
    assert ("<span class='poselab-legend-part' data-state='occluded' style='color:#3cb44b'>⊘ left_ear</span>"
            in html)
    assert ("<span class='poselab-legend-part' data-state='placed' style='color:#e6194b'>■ snout</span>"
            in html)
    assert "data-state='unplaced' style='color:#4363d8'>□ <u>tail</u></span>" in html  # active: underlined
    assert html.endswith(f"<span class='poselab-legend-key'>{LEGEND_KEY}</span>")
    assert all(f"{mark} {what}" in LEGEND_KEY for mark, what in
               [("■", "placed"), ("□", "not placed"), ("⊘", "occluded")])


def test_label_positions_stack_crowded_labels_exactly():
    # three points 2 px apart in one column: stacked 12 px apart, centred on their mean y (102);
    # a point far right and one far below keep their ideal places; x is point x + 6
    xy = [[100, 102], [100, 100], [100, 104], [500, 101], [100, 200]]
    out = label_positions(xy, 50, 12, offset=(6, 0))
    np.testing.assert_array_equal(out, [[106, 102], [106, 90], [106, 114], [506, 101], [106, 200]])
    # labels overlapping horizontally (106..156 and 146..196) are a column; a third one that
    # starts where the second ends (touching) is not: it keeps its place
    out = label_positions([[100, 50], [140, 52], [190, 51]], 50, 10, offset=(6, 0))
    np.testing.assert_array_equal(out, [[106, 46], [146, 56], [196, 51]])
    # two crowded pairs that, once spread, crowd each other: one stack of four round the mean
    out = label_positions([[0, 0], [0, 1], [0, 14], [0, 15]], 30, 10)
    np.testing.assert_array_equal(out[:, 1], [-7.5, 2.5, 12.5, 22.5])
    # bounds: kept inside, still apart (a stack at the top edge, one at the bottom)
    np.testing.assert_array_equal(label_positions([[10, 2], [10, 4]], 50, 10, bounds=(0, 480)),
                                  [[10, 5], [10, 15]])
    np.testing.assert_array_equal(label_positions([[10, 470], [10, 478]], 50, 10, bounds=(0, 480)),
                                  [[10, 465], [10, 475]])
    assert label_positions(np.zeros((0, 2)), [], 10).shape == (0, 2)
    with pytest.raises(LabelingError):
        label_positions([[0, 0]], 10, 0)
    with pytest.raises(LabelingError):
        label_positions([[np.nan, 0]], 10, 5)


def test_label_positions_never_overlap_random_points():
    rng = np.random.default_rng(3)
    for _ in range(50):
        n = int(rng.integers(2, 12))
        xy = rng.uniform(0, 200, (n, 2))
        widths = rng.uniform(20, 80, n)
        out = label_positions(xy, widths, 14.0, offset=(8, 0), bounds=(0, 480))
        np.testing.assert_array_equal(out[:, 0], xy[:, 0] + 8)
        for i in range(n):
            for j in range(i + 1, n):
                apart_x = out[i, 0] + widths[i] <= out[j, 0] or out[j, 0] + widths[j] <= out[i, 0]
                assert apart_x or abs(out[i, 1] - out[j, 1]) >= 14.0 - 1e-9


def test_panzoom_mode_banner_and_clicks_that_place_nothing(store):
    s = LabelingSession(store)
    assert s.banner() == "label mode: click the image to place snout, drag a point to move it"
    assert s.click(5.0, 6.0) == "snout" and s.points()["snout"] == (5.0, 6.0, False)
    s.toggle_zoom()
    assert s.banner() == PANZOOM_BANNER and "drag to pan, wheel to zoom" in PANZOOM_BANNER
    assert s.click(30.0, 31.0) is None  # nothing placed: the widget says so
    assert list(s.points()) == ["snout"] and s.part == "left_ear"
    s.toggle_zoom()
    assert s.click(30.0, 31.0) == "left_ear"
    # a click, not the end of a pan drag: within 4 px of the mousedown
    down = {"type": "mousedown", "clientX": 100, "clientY": 50}
    assert is_click(down, {"type": "click", "clientX": 103, "clientY": 50})
    assert not is_click(down, {"type": "click", "clientX": 140, "clientY": 70})
    assert is_click(None, {"type": "click", "clientX": 1, "clientY": 2})
