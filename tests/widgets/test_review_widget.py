"""ReviewSession / ReviewWidget without a browser: exact front-end messages in, the label store
and the corrected poses checked (outlier jump, drag to correct, send, swap identities)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("bqplot")
pytest.importorskip("ipyevents")

from poselab.project import Project  # noqa: E402
from poselab.project.labels import LabelStore  # noqa: E402
from poselab.widgets.review import ReviewWidget  # noqa: E402
from poselab.widgets.review_logic import ReviewError, ReviewSession  # noqa: E402

PARTS = ["snout", "body_centre", "tail_base"]
ANIMALS = ["mouse0", "mouse1"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from poselab.datasets.synthetic import synthetic

    return synthetic(tmp_path_factory.mktemp("review") / "m.mp4", n_animals=2, n_frames=20,
                     size=(320, 240), seed=2)


@pytest.fixture
def setup(world, tmp_path):
    truth = world.poses["position"].sel(part=PARTS)
    pred = world.poses[["position"]].sel(part=PARTS).copy(deep=True)
    pred["likelihood"] = xr_full(pred, 0.95)
    # one wrong snout at frame 10 (a 50 px jump) and one unsure tail base
    pred["position"].loc[dict(animal="mouse0", part="snout", frame=10, coord="x")] += 50.0
    pred["likelihood"].loc[dict(animal="mouse1", part="tail_base", frame=10)] = 0.3
    project = Project.create(tmp_path / "p", PARTS, animals=ANIMALS, videos=[world.video])
    yield pred, truth, project
    project.close()


def xr_full(ds, value):
    import xarray as xr

    return xr.full_like(ds["position"].isel(coord=0, drop=True), value)


def _stored(project, image):
    with LabelStore(project.root / "labels.sqlite", PARTS, ANIMALS) as other:
        return other.points(image)


def _xy(ds, animal, part, frame):
    return tuple(float(v) for v in ds["position"].sel(animal=animal, part=part, frame=frame).values)


def test_session_outliers_correct_send_and_swap(world, setup):
    pred, truth, project = setup
    s = ReviewSession(pred, world.video, project, min_gap=3)
    assert s.outliers == [10] and s.frame == 0
    assert s.next_outlier() == 10 and s.next_outlier() == 10  # no later outlier: stays
    from poselab.io.video import open_video

    with open_video(world.video) as reader:
        np.testing.assert_array_equal(s.image(), reader.read(10))
    x, y = (float(v) for v in truth.sel(animal="mouse0", part="snout", frame=10).values)
    s.move("mouse0", "snout", x, y)
    assert _xy(s.poses, "mouse0", "snout", 10) == (x, y)
    assert float(s.poses["likelihood"].sel(animal="mouse0", part="snout", frame=10)) == 1.0
    assert _xy(pred, "mouse0", "snout", 10) != (x, y)  # the caller's Dataset is not touched
    assert s.corrected == {10: {("mouse0", "snout")}}

    assert s.send_to_label_store() == ["frames/m/img00010.png"]
    expected = {(a, p): _xy(pred, a, p, 10) + (False,) for a in ANIMALS for p in PARTS}
    expected[("mouse0", "snout")] = (x, y, False)  # corrected
    del expected[("mouse1", "tail_base")]  # likelihood 0.3 < p_cutoff 0.6: left for the user
    assert _stored(project, "frames/m/img00010.png") == expected
    assert "1 sent" in s.status()
    # why frame 10 is an outlier: the 50 px snout jump (charged to frame 10), likelihood 0.3
    jump = float(s.scores["jump"].sel(frame=10))
    p9, p10, p11 = (np.array(_xy(pred, "mouse0", "snout", f)) for f in (9, 10, 11))
    assert jump == pytest.approx(min(np.hypot(*(p10 - p9)), np.hypot(*(p11 - p10))), abs=1e-9)
    assert s.status().endswith(f"score {float(s.scores['score'].sel(frame=10)):.2f}: jump {jump:.1f} "
                               "px/frame, lowest likelihood 0.30")

    # a frame already labeled by a person: corrections overwrite, predictions only fill gaps
    (img4,) = project.extract_outliers(pred, frames=[4])
    project.labels.set_point(img4, "snout", 1.0, 2.0, animal="mouse0")
    project.labels.delete_point(img4, "tail_base", animal="mouse0")
    s.goto(4)
    s.move("mouse1", "snout", 100.0, 100.0)
    assert s.send_to_label_store(frames=[4]) == [img4]
    stored = _stored(project, img4)
    assert stored[("mouse0", "snout")] == (1.0, 2.0, False)  # the person's label stays
    assert stored[("mouse1", "snout")] == (100.0, 100.0, False)
    assert stored[("mouse0", "tail_base")] == _xy(pred, "mouse0", "tail_base", 4) + (False,)

    # identities swapped from frame 15 on; earlier frames untouched
    s.goto(15)
    s.swap("mouse0", "mouse1")
    for f in (15, 19):
        assert _xy(s.poses, "mouse0", "body_centre", f) == _xy(pred, "mouse1", "body_centre", f)
        assert _xy(s.poses, "mouse1", "body_centre", f) == _xy(pred, "mouse0", "body_centre", f)
    assert _xy(s.poses, "mouse0", "body_centre", 14) == _xy(pred, "mouse0", "body_centre", 14)
    # corrections follow their points when a swap covers them
    s.swap("mouse0", "mouse1")  # undo at 15
    s.goto(3)
    s.swap("mouse0", "mouse1")
    assert s.corrected == {10: {("mouse1", "snout")}, 4: {("mouse0", "snout")}}
    assert s.swaps == [("mouse0", "mouse1", 15)] * 2 + [("mouse0", "mouse1", 3)]
    with pytest.raises(ReviewError):
        s.swap("mouse0", "rat")
    with pytest.raises(ReviewError):
        ReviewSession(pred, world.video).send_to_label_store(frames=[1])
    s.close()


def _key(w, key, t):
    w.events._handle_custom_msg({"event": "keydown", "type": "keydown", "key": key, "timeStamp": t}, [])


def _drag(w, index, x, y):
    sc = w.scatter
    xs, ys = np.array(sc.x, dtype=float), np.array(sc.y, dtype=float)
    xs[index], ys[index] = x, y
    n = len(xs)
    sc._handle_msg({"content": {"data": {
        "method": "update",
        "state": {"x": {"dtype": "float64", "shape": [n], "value": None},
                  "y": {"dtype": "float64", "shape": [n], "value": None}},
        "buffer_paths": [["x", "value"], ["y", "value"]]}},
        "buffers": [memoryview(xs.tobytes()), memoryview(ys.tobytes())]})
    sc._handle_msg({"content": {"data": {"method": "custom", "content": {
        "event": "drag_end", "point": {"x": x, "y": y}, "index": index}}}, "buffers": []})


def test_widget_messages_to_label_store(world, setup):
    pred, truth, project = setup
    w = ReviewWidget(pred, world.video, project, min_gap=3)
    assert w.image_mark.image.value[:2] == b"\xff\xd8" and list(w.image_mark.y) == [239.5, -0.5]
    assert w.outlier_list.options[1:] == (("10", 10),)
    assert list(w.outlier_ticks.x) == [10.0] and w.swap_box.layout.display == "flex"
    old = w.image_mark.image
    _key(w, "n", 1.0)
    _key(w, "n", 1.0)  # Voila's duplicate keydown: ignored
    assert w.session.frame == 10 and w.slider.value == 10 and w.image_mark.image is not old
    assert list(w.frame_rule.x) == [10, 10]
    names = list(w.scatter.names)
    assert len(names) == 6 and names[0] == "mouse0:snout"
    assert list(w.scatter.opacities)[names.index("mouse1:tail_base")] == 0.35
    x, y = (float(v) for v in truth.sel(animal="mouse0", part="snout", frame=10).values)
    _drag(w, names.index("mouse0:snout"), x, y)
    assert w.session.corrected == {10: {("mouse0", "snout")}}
    assert np.asarray(w.traces.y)[0, 10] == 1.0  # mouse0's snout likelihood trace: corrected
    w.send_button.click()
    assert "sent 1 frame" in w.message.value
    assert _stored(project, "frames/m/img00010.png")[("mouse0", "snout")] == (x, y, False)
    # navigation: slider, buttons, the outlier list, arrow keys
    w.slider.value = 0
    assert w.session.frame == 0
    w.next_button.click()
    _key(w, "ArrowRight", 2.0)
    assert w.session.frame == 2
    w.outlier_list.value = 10
    assert w.session.frame == 10
    _key(w, "p", 3.0)  # no earlier outlier: stays
    assert w.session.frame == 10
    # swap from this frame on: the points drawn follow
    before = (list(w.scatter.x), list(w.scatter.y))
    w.swap_a.value, w.swap_b.value = "mouse0", "mouse1"
    w.swap_button.click()
    assert list(w.scatter.x) == before[0][3:] + before[0][:3]  # mouse0 shows mouse1's points
    assert _xy(w.session.poses, "mouse1", "snout", 10) == (x, y)
    w.swap_b.value = "mouse0"
    w.swap_button.click()  # same animal twice: the error is shown, not raised
    assert "two different animals" in w.message.value
    w.session.close()


def test_single_animal_hides_swap_and_send_needs_project(world, setup):
    pred, _truth, _project = setup
    one = pred.sel(animal=["mouse0"])
    w = ReviewWidget(one, world.video, outliers=[3, 7])
    assert w.swap_box.layout.display == "none" and w.send_button.disabled
    assert list(w.scatter.names) == PARTS  # one animal: part names only
    # written by a Label mark (white with a halo, kept apart), not by the scatter
    assert not w.scatter.display_names and list(w.view.name_labels.text) == PARTS
    assert "paint-order: stroke" in w.css.value
    w.next_outlier_button.click()
    w.next_outlier_button.click()
    assert w.session.frame == 7
    w.prev_outlier_button.click()
    assert w.session.frame == 3
    w.session.close()


def test_project_shortcuts(world, setup):
    pred, _truth, project = setup
    w = project.review(pred, min_gap=3)
    assert w.session.video_name == project.videos[0] and w.session.outliers == [10]
    w.session.close()
    assert project.extract_outliers(pred, n=2, min_gap=3, fitting=False) == ["frames/m/img00010.png"]
    assert project.extract_outliers(pred, n=2, min_gap=3, fitting=False) == []  # already taken
    assert project.label().session.images[0].image == "frames/m/img00010.png"
    assert project.train_widget(epochs=2).session.epochs == 2


def test_threshold_none_takes_the_worst_frames(world, setup):
    pred, _truth, _project = setup
    s = ReviewSession(pred, world.video, n_outliers=3, min_gap=3, threshold=None)
    assert len(s.outliers) == 3 and 10 in s.outliers
    assert ReviewSession(pred, world.video, n_outliers=3, min_gap=3).outliers == [10]


def test_long_traces_are_min_pooled(world, setup):
    pred, _truth, _project = setup
    s = ReviewSession(pred, world.video, outliers=[])
    frames, values = s.likelihood_traces("mouse1", max_points=4)
    np.testing.assert_array_equal(frames, [0, 5, 10, 15])
    assert values.shape == (3, 4)
    assert values[2, 2] == 0.3  # the unsure tail base at frame 10 survives the pooling
    np.testing.assert_array_equal(np.delete(values.ravel(), 2 * 4 + 2), 0.95)
    full_frames, full = s.likelihood_traces("mouse1")
    assert full.shape == (3, 20) and list(full_frames) == list(range(20))
    assert "poses" not in repr(s)  # no Dataset dump in the repr


def test_a_persons_label_is_never_replaced_unless_asked(world, setup):
    """Issue 20: a correction sent for a point a person placed used to overwrite it."""
    pred, _truth, project = setup
    (img4,) = project.extract_outliers(pred, frames=[4])
    project.labels.set_point(img4, "snout", 1.0, 2.0, animal="mouse0")  # a person's label
    s = ReviewSession(pred, world.video, project, outliers=[])
    s.goto(4)
    s.move("mouse0", "snout", 50.0, 60.0)  # the reviewer drags the same point elsewhere
    s.move("mouse1", "snout", 70.0, 80.0)  # ... and a point that only holds a prediction
    assert s.send_to_label_store() == [img4]
    stored = _stored(project, img4)
    assert stored[("mouse0", "snout")] == (1.0, 2.0, False)  # kept
    assert stored[("mouse1", "snout")] == (70.0, 80.0, False)  # the prediction is replaced
    assert s.kept == [(4, "mouse0", "snout")]
    assert project.labels.point_sources(img4)[("mouse1", "snout")] == "human"
    assert project.labels.point_sources(img4)[("mouse0", "tail_base")] == "predicted"
    # the user asks: now the correction replaces the label
    assert s.send_to_label_store(overwrite_labels=True) == [img4]
    assert _stored(project, img4)[("mouse0", "snout")] == (50.0, 60.0, False)
    assert s.kept == []
    s.close()
    # the widget says what it kept
    project.labels.set_point(img4, "snout", 3.0, 4.0, animal="mouse0")
    w = ReviewWidget(pred, world.video, project, outliers=[4])
    w.session.goto(4)
    w.session.move("mouse0", "snout", 55.0, 66.0)
    w.send()
    assert "1 correction(s) not written" in w.message.value
    assert _stored(project, img4)[("mouse0", "snout")] == (3.0, 4.0, False)
    w.session.close()


def test_outlier_list_leaves_out_frames_already_in_the_label_store(world, setup):
    pred, _truth, project = setup
    assert ReviewSession(pred, world.video, project, min_gap=3).outliers == [10]
    project.add_frames([10])
    assert ReviewSession(pred, world.video, project, min_gap=3).outliers == []
    assert ReviewSession(pred, world.video, min_gap=3).outliers == [10]  # no project: all frames
    with pytest.raises(ReviewError, match="not a video of the project"):
        ReviewSession(pred, world.video, project, video_name="other.mp4")


def test_project_skeleton_and_likelihood_threshold(world, tmp_path):
    pred = world.poses[["position"]].sel(part=PARTS).copy(deep=True)
    pred["likelihood"] = xr_full(pred, 0.8)
    project = Project.create(tmp_path / "sk", PARTS, animals=ANIMALS, videos=[world.video],
                             skeleton=[["snout", "body_centre"], ["body_centre", "tail_base"]])
    project.config.likelihood_threshold = 0.9
    s = ReviewSession(pred, world.video, project, outliers=[])
    assert s.p_cutoff == 0.9 and s.skeleton == [["snout", "body_centre"], ["body_centre", "tail_base"]]
    assert ReviewSession(pred, world.video, project, outliers=[], p_cutoff=0.5).p_cutoff == 0.5
    assert ReviewSession(pred, world.video, outliers=[]).p_cutoff == 0.6  # no project
    s.goto(3)
    expected = [[_xy(pred, a, p, 3) for p in pair] for a in ANIMALS
                for pair in (("snout", "body_centre"), ("body_centre", "tail_base"))]
    np.testing.assert_array_equal(s.segments(), expected)
    s.close()
    w = project.review(pred, outliers=[])
    assert w.session.p_cutoff == 0.9
    assert list(w.cutoff_label.text) == ["p_cutoff 0.90"] and list(w.cutoff_label.y) == [0.9]
    assert list(w.trace_figure.axes[1].tick_values) == [0.0, 0.5, 1.0]  # not 0 / 0.53 / 1.1
    assert w.view.name_labels is None  # several animals: names in the tooltip, not on the frame
    assert list(w.scatter.opacities) == [0.35] * 6  # every point below the project's 0.9
    for frame in (0, 1):  # the lines follow the frame
        limbs = np.array([[_xy(pred, a, p, frame) for p in pair] for a in ANIMALS
                          for pair in (("snout", "body_centre"), ("body_centre", "tail_base"))])
        np.testing.assert_array_equal(np.asarray(w.view.skeleton_lines.x), limbs[:, :, 0])
        np.testing.assert_array_equal(np.asarray(w.view.skeleton_lines.y), limbs[:, :, 1])
        w.next_button.click()
    w.session.close()
    project.close()
