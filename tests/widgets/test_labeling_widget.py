"""LabelingWidget without a browser: the exact front-end messages in, the label store checked."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bqplot")
pytest.importorskip("ipyevents")
cv2 = pytest.importorskip("cv2")

from poselab.project import Project  # noqa: E402
from poselab.project.labels import ImageRecord, LabelStore  # noqa: E402
from poselab.widgets import label  # noqa: E402

PARTS = ["snout", "left_ear", "right_ear"]
W_, H_ = 80, 60


@pytest.fixture
def project(tmp_path):
    proj = Project.create(tmp_path / "proj", PARTS)
    rng = np.random.default_rng(1)
    records = []
    for i in range(3):
        rel = f"frames/v/img{i:03d}.png"
        (proj.root / "frames/v").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(proj.root / rel), rng.integers(0, 255, (H_, W_, 3), dtype=np.uint8))
        records.append(ImageRecord(rel, "v.mp4", i, W_, H_))
    proj.labels.add_images(records)
    yield proj
    proj.close()


def _click(widget, x, y):
    widget.image_mark._handle_custom_msgs(None, {"event": "element_click", "data": {"click_x": x, "click_y": y}})


def _drag(widget, index, x, y):
    sc = widget.scatter
    xs = np.array(sc.x, dtype=float)
    ys = np.array(sc.y, dtype=float)
    xs[index], ys[index] = x, y
    n = len(xs)
    # 1) the model update with bqplot's binary array serialisation, 2) the custom drag_end
    sc._handle_msg({"content": {"data": {
        "method": "update",
        "state": {"x": {"dtype": "float64", "shape": [n], "value": None},
                  "y": {"dtype": "float64", "shape": [n], "value": None}},
        "buffer_paths": [["x", "value"], ["y", "value"]]}},
        "buffers": [memoryview(xs.tobytes()), memoryview(ys.tobytes())]})
    sc._handle_msg({"content": {"data": {"method": "custom", "content": {
        "event": "drag_end", "point": {"x": x, "y": y}, "index": index}}}, "buffers": []})


def _key(widget, key, t):
    widget.events._handle_custom_msg({"event": "keydown", "type": "keydown", "key": key, "timeStamp": t}, [])


def _mouse(widget, kind, x, y):
    widget.mouse_events._handle_custom_msg({"event": kind, "type": kind, "clientX": x, "clientY": y}, [])


def _drag_occluded(widget, index, x, y):
    widget.occluded_scatter._handle_msg({"content": {"data": {"method": "custom", "content": {
        "event": "drag_end", "point": {"x": x, "y": y}, "index": index}}}, "buffers": []})


def _stored(project, image):
    with LabelStore(project.root / "labels.sqlite", PARTS) as other:
        return {p: v for (_, p), v in other.points(image).items()}


def test_click_drag_keys_saved_to_store(project):
    w = label(project)
    img0 = "frames/v/img000.png"
    assert w.image_mark.image.format == "jpeg" and w.image_mark.image.value[:2] == b"\xff\xd8"
    assert list(w.image_mark.y) == [H_ - 0.5, -0.5] and w.ys.reverse
    _click(w, 10.5, 20.25)
    _click(w, 30.0, 7.0)
    assert _stored(project, img0) == {"snout": (10.5, 20.25, False), "left_ear": (30.0, 7.0, False)}
    assert w.session.part == "right_ear" and w.part_buttons.value == "right_ear"
    assert list(w.scatter.x) == [10.5, 30.0] and list(w.scatter.names) == ["snout", "left_ear"]
    assert "frame 1/3, 2/3 parts" in w.status.value

    _drag(w, 1, 41.75, 33.125)  # left_ear
    assert _stored(project, img0)["left_ear"] == (41.75, 33.125, False)
    assert _stored(project, img0)["snout"] == (10.5, 20.25, False)

    old = w.image_mark.image
    _key(w, "n", 100.0)
    _key(w, "n", 100.0)  # Voila's duplicate keydown: ignored
    assert w.session.index == 1 and w.jump.value == 2
    assert w.image_mark.image is not old  # swapped widget (value changes would not redraw)
    assert list(w.scatter.x) == []
    _click(w, 5, 5)
    _key(w, "x", 101.0)  # delete the point just placed
    assert _stored(project, "frames/v/img001.png") == {}
    _key(w, "o", 102.0)
    assert _stored(project, "frames/v/img001.png") == {"snout": (None, None, True)}
    _key(w, "p", 103.0)
    assert w.session.index == 0 and list(w.scatter.x) == [10.5, 41.75]


def test_buttons_jump_zoom_and_errors(project):
    w = label(project)
    w.next_button.click()
    w.next_button.click()
    assert w.session.index == 2
    w.prev_button.click()
    assert w.session.index == 1
    w.jump.value = 3
    assert w.session.index == 2
    w.part_buttons.value = "right_ear"
    _click(w, 79.4, 59.4)
    assert _stored(project, "frames/v/img002.png") == {"right_ear": (79.4, 59.4, False)}
    # pan/zoom mode: the interaction is set, clicks do not place
    w.zoom_button.value = True
    assert w.figure.interaction is w.panzoom and w.session.zoom
    _click(w, 1, 1)
    assert len(_stored(project, "frames/v/img002.png")) == 1
    _key(w, "z", 5.0)
    assert w.figure.interaction is None and not w.zoom_button.value
    # a drag with a stale index is ignored; a store error is shown, not raised
    _drag(w, 0, 500.0, 2.0)  # outside? clamped into the image
    assert _stored(project, "frames/v/img002.png")["right_ear"] == (79.5, 2.0, False)
    assert "mouse is over the image" in w.help.value.lower() or "mouse is over" in w.help.value


def test_animal_selector_for_multi_animal_projects(tmp_path):
    proj = Project.create(tmp_path / "multi", PARTS, animals=["a", "b"])
    (proj.root / "frames/v").mkdir(parents=True)
    cv2.imwrite(str(proj.root / "frames/v/img000.png"), np.zeros((H_, W_, 3), np.uint8))
    proj.labels.add_images([ImageRecord("frames/v/img000.png", "v.mp4", 0, W_, H_)])
    w = label(proj)
    assert w.animal_select.layout.display == "flex" and w.session.animal == "a"
    _click(w, 10.0, 11.0)
    w.animal_select.value = "b"
    assert w.session.animal == "b" and w.session.part == "snout" and list(w.scatter.x) == []
    _click(w, 20.0, 21.0)
    stored = proj.labels.points("frames/v/img000.png")
    assert stored == {("a", "snout"): (10.0, 11.0, False), ("b", "snout"): (20.0, 21.0, False)}
    w.animal_select.value = "a"
    assert list(w.scatter.x) == [10.0]
    proj.close()


def test_single_animal_hides_the_animal_selector(project):
    assert label(project).animal_select.layout.display == "none"


def test_the_project_skeleton_is_drawn(tmp_path):
    proj = Project.create(tmp_path / "sk", PARTS, skeleton=[["snout", "left_ear"], ["snout", "right_ear"]])
    (proj.root / "frames/v").mkdir(parents=True)
    cv2.imwrite(str(proj.root / "frames/v/img000.png"), np.zeros((H_, W_, 3), np.uint8))
    proj.labels.add_images([ImageRecord("frames/v/img000.png", "v.mp4", 0, W_, H_)])
    w = label(proj)
    assert w.session.skeleton == [["snout", "left_ear"], ["snout", "right_ear"]]
    assert list(w.view.skeleton_lines.x) == []
    _click(w, 10.0, 11.0)  # snout
    _click(w, 20.0, 21.0)  # left_ear
    np.testing.assert_array_equal(np.atleast_2d(w.view.skeleton_lines.x), [[10.0, 20.0]])  # one line: squeezed
    np.testing.assert_array_equal(np.atleast_2d(w.view.skeleton_lines.y), [[11.0, 21.0]])
    _drag(w, 1, 30.0, 31.0)  # the line follows a dragged point
    np.testing.assert_array_equal(np.atleast_2d(w.view.skeleton_lines.x), [[10.0, 30.0]])
    assert list(label(proj, skeleton=()).view.skeleton_lines.x) == []  # asked for none
    proj.close()


def test_occluded_parts_drawn_apart_from_placed_ones(project):
    img0 = "frames/v/img000.png"
    project.labels.set_point(img0, "right_ear", 40.0, 30.0, occluded=True)
    project.labels.set_point("frames/v/img001.png", "snout", None, None, occluded=True)
    w = label(project)
    _click(w, 10.0, 11.0)  # snout placed
    # the placed point is a filled dot, the occluded one a hollow ring in its part's colour
    assert list(w.scatter.x) == [10.0] and list(w.scatter.names) == ["snout"]
    assert list(w.occluded_scatter.x) == [40.0] and list(w.occluded_scatter.y) == [30.0]
    assert list(w.occluded_scatter.colors) == [w.colors["right_ear"]] and not w.occluded_scatter.fill
    assert w.scatter.fill
    # legend: its own mark (it was ■, like a placed part) and the key
    assert "data-state='occluded'" in w.legend.value and "⊘ right_ear" in w.legend.value
    assert "■ snout" in w.legend.value and "□ <u>left_ear</u>" in w.legend.value
    assert "⊘ occluded" in w.legend.value
    # a drag moves an occluded point and keeps it occluded
    _drag_occluded(w, 0, 50.0, 20.0)
    assert _stored(project, img0)["right_ear"] == (50.0, 20.0, True)
    assert list(w.occluded_scatter.x) == [50.0]
    # occluded without a position: the legend mark alone
    w.next_button.click()
    assert "⊘ snout" in w.legend.value and list(w.occluded_scatter.x) == [] and list(w.scatter.x) == []
    assert list(w.name_labels.text) == []


def test_names_are_labels_apart_with_a_halo_and_no_bqplot_toolbar(project):
    w = label(project, display_width=640)  # 8 screen px per image px
    _click(w, 10.0, 10.0)
    _click(w, 10.5, 10.5)  # 4 px apart on screen: the names would overlap
    project.labels.set_point("frames/v/img000.png", "right_ear", 70.0, 10.0, occluded=True)
    w.refresh()
    assert not w.scatter.display_names  # the names are a Label mark, laid out by label_positions
    assert list(w.name_labels.text) == ["snout", "left_ear", "right_ear (occluded)"]
    px = 640 / W_
    y_screen = (np.asarray(w.name_labels.y) + 0.5) * px
    font = w.view.font_size + 2
    # snout and left_ear: ideal centres 84 and 88 px, stacked 15 px apart round their mean (86)
    np.testing.assert_allclose(y_screen[:2], [86 - font / 2, 86 + font / 2])
    assert y_screen[2] == pytest.approx((10.0 + 0.5) * px)  # far to the right: stays level
    x_screen = (np.asarray(w.name_labels.x) + 0.5) * px
    np.testing.assert_allclose(x_screen, np.array([10.0, 10.5, 70.0]) * px + 0.5 * px + 8)  # right of the dot
    # the halo: white names on a black outline, scoped to the widget; bqplot's own toolbar off
    css = w.css.value
    for rule in ("paint-order: stroke", "stroke: black", "stroke-width: 3px", "fill: white"):
        assert rule in css
    assert ".poselab-labeling .poselab-labeling-figure text.label" in css
    assert w.figure.display_toolbar is False and ".toolbar_div { display: none" in css
    assert w.name_labels in w.figure.marks and w.occluded_scatter in w.figure.marks


def test_panzoom_mode_indicator_and_clicks_that_say_so(project):
    w = label(project)
    assert w.banner.value.startswith("label mode: click the image to place snout")
    assert "poselab-labeling-panzoom" not in w._dom_classes
    w.zoom_button.value = True
    assert w.banner.value.startswith("pan/zoom mode: drag to pan, wheel to zoom")
    assert "poselab-labeling-panzoom" in w._dom_classes  # orange outline and mode line (CSS)
    assert w.notice.value == ""
    # a click (mousedown and click at one spot) on the figure: says why nothing was placed
    _mouse(w, "mousedown", 200, 100)
    _mouse(w, "click", 201, 100)
    assert w.notice.value == "click not placed: pan/zoom mode is on"
    assert _stored(project, "frames/v/img000.png") == {}
    w.notice.value = ""
    _mouse(w, "mousedown", 200, 100)
    _mouse(w, "click", 260, 130)  # the end of a pan drag: no message
    assert w.notice.value == ""
    _click(w, 5.0, 5.0)  # should the image mark hear it after all: the same message
    assert w.notice.value == "click not placed: pan/zoom mode is on"
    assert _stored(project, "frames/v/img000.png") == {}
    _key(w, "z", 10.0)  # back to labeling: no banner colour, the message gone, clicks place
    assert "poselab-labeling-panzoom" not in w._dom_classes and w.notice.value == ""
    assert w.banner.value.startswith("label mode")
    _mouse(w, "mousedown", 200, 100)
    _mouse(w, "click", 200, 100)
    assert w.notice.value == ""
    _click(w, 5.0, 5.0)
    assert _stored(project, "frames/v/img000.png") == {"snout": (5.0, 5.0, False)}
