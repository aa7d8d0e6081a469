"""Predictions into the label store: the pure rules (which points), and the project's merge
(extract outliers, write predictions) on a synthetic video."""

from __future__ import annotations

import numpy as np
import pytest

from poselab.core import poses
from poselab.project import Project, ProjectError
from poselab.project.predictions import PredictionError, points_to_write, predicted_points


def _two_points() -> "poses.xr.Dataset":
    position = np.array([[[[10.0, 20.0], [11.0, 21.0]], [[30.0, 40.0], [np.nan, np.nan]]]])  # 1 animal, 2 parts, 2 frames
    likelihood = np.array([[[0.9, 0.2], [0.5, np.nan]]])
    return poses.from_arrays(position, likelihood, animals=["m"], parts=["a", "b"], frames=[7, 8])


def test_predicted_points_leave_out_missing_unsure_and_outside_points():
    ds = _two_points()
    assert predicted_points(ds, 7) == {("m", "a"): (10.0, 20.0), ("m", "b"): (30.0, 40.0)}
    assert predicted_points(ds, 7, min_likelihood=0.6) == {("m", "a"): (10.0, 20.0)}
    assert predicted_points(ds, 7, width=32, height=32) == {("m", "a"): (10.0, 20.0)}  # y = 40 is outside
    assert predicted_points(ds, 7, width=31, height=41) == {("m", "a"): (10.0, 20.0), ("m", "b"): (30.0, 40.0)}
    assert predicted_points(ds, 8) == {("m", "a"): (11.0, 21.0)}  # b missing
    assert predicted_points(ds, 8, min_likelihood=0.5) == {}
    assert predicted_points(ds, 7, parts=["b"]) == {("m", "b"): (30.0, 40.0)}
    assert predicted_points(ds.drop_vars("likelihood"), 8, min_likelihood=1.0) == {("m", "a"): (11.0, 21.0)}
    with pytest.raises(PredictionError, match="frame 9 is not in the predictions"):
        predicted_points(ds, 9)


def test_points_to_write_never_replaces_a_person_unless_asked():
    predicted = {("m", "a"): (1.0, 1.0), ("m", "b"): (2.0, 2.0), ("m", "c"): (3.0, 3.0), ("m", "d"): (4.0, 4.0)}
    stored = {("m", "a"): "human", ("m", "b"): "predicted", ("m", "c"): "human"}
    human, machine = points_to_write(predicted, stored, corrected={("m", "a"), ("m", "b")})
    assert human == {("m", "b"): (2.0, 2.0)}  # a correction replaces a stored prediction, not a person
    assert machine == {("m", "d"): (4.0, 4.0)}  # predictions only fill what is not stored
    human, machine = points_to_write(predicted, stored, corrected={("m", "a"), ("m", "b")}, overwrite_labels=True)
    assert human == {("m", "a"): (1.0, 1.0), ("m", "b"): (2.0, 2.0)}
    assert machine == {("m", "d"): (4.0, 4.0)}
    assert points_to_write(predicted, stored) == ({}, {("m", "d"): (4.0, 4.0)})


@pytest.fixture
def world(tmp_path):
    from poselab.datasets.synthetic import synthetic

    return synthetic(tmp_path / "m.mp4", n_frames=30, size=(320, 240), seed=3)


def test_extract_outliers_into_a_project(tmp_path, world):
    from poselab.io.video import open_video

    parts = ["snout", "tail_base"]
    pred = world.poses[["position", "likelihood"]].sel(part=parts).copy(deep=True)
    pred["position"].loc[dict(animal="mouse0", part="snout", frame=20)] += np.array([60.0, 0.0])
    pred["likelihood"].loc[dict(animal="mouse0", part="tail_base", frame=20)] = 0.3
    project = Project.create(tmp_path / "p", parts, animals=["mouse0"], videos=[world.video])
    images = project.extract_outliers(pred, n=3, min_gap=5, fitting=False, min_likelihood=0.5)
    assert images == ["frames/m/img00020.png"]
    stored = project.labels.points(images[0])
    x, y = pred["position"].sel(animal="mouse0", part="snout", frame=20).values
    assert stored == {("mouse0", "snout"): (float(x), float(y), False)}  # tail_base: below 0.5
    assert project.labels.point_sources(images[0]) == {("mouse0", "snout"): "predicted"}
    with open_video(world.video) as reader:
        import cv2

        png = cv2.imread(str(project.root / images[0]))[:, :, ::-1]
        np.testing.assert_array_equal(png, reader.read(20))
    # again: frame 20 is taken, and nothing else is flagged
    assert project.extract_outliers(pred, n=3, min_gap=5, fitting=False) == []
    # explicit frames; a point outside the image is not written
    pred["position"].loc[dict(animal="mouse0", part="tail_base", frame=5)] = np.array([400.0, 10.0])
    images = project.extract_outliers(pred, frames=[5, 20])
    assert images == ["frames/m/img00005.png"]
    assert set(project.labels.points(images[0])) == {("mouse0", "snout")}
    with pytest.raises(ProjectError):
        project.extract_outliers(pred, frames=[99])
    project.close()


def test_write_predictions_and_add_frames_share_one_path(tmp_path, world):
    parts = ["snout", "tail_base"]
    pred = world.poses[["position", "likelihood"]].sel(part=parts).copy(deep=True)
    project = Project.create(tmp_path / "p", parts + ["ear"], animals=["mouse0"], videos=[world.video])
    assert project.add_frames([3, 1]) == ["frames/m/img00003.png", "frames/m/img00001.png"]
    records = {r.image: r for r in project.labels.images()}
    assert (records["frames/m/img00001.png"].frame, records["frames/m/img00001.png"].width) == (1, 320)
    assert project.add_frames([1]) == ["frames/m/img00001.png"]  # registered: the same image
    assert len(project.labels.images()) == 2
    project.labels.set_point("frames/m/img00003.png", "snout", 5.0, 6.0)  # a person's label
    images = project.write_predictions(pred, [3, 9], corrected={3: {("mouse0", "tail_base")}})
    assert images == ["frames/m/img00003.png", "frames/m/img00009.png"]
    xy = {f: {p: tuple(float(v) for v in pred["position"].sel(animal="mouse0", part=p, frame=f).values)
              for p in parts} for f in (3, 9)}
    assert project.labels.points(images[0]) == {("mouse0", "snout"): (5.0, 6.0, False),
                                                ("mouse0", "tail_base"): xy[3]["tail_base"] + (False,)}
    assert project.labels.point_sources(images[0]) == {("mouse0", "snout"): "human", ("mouse0", "tail_base"): "human"}
    assert project.labels.points(images[1]) == {("mouse0", p): xy[9][p] + (False,) for p in parts}
    # a person's label is replaced only when asked
    project.write_predictions(pred, [3], corrected={3: {("mouse0", "snout")}})
    assert project.labels.points(images[0])[("mouse0", "snout")] == (5.0, 6.0, False)
    project.write_predictions(pred, [3], corrected={3: {("mouse0", "snout")}}, overwrite_labels=True)
    assert project.labels.points(images[0])[("mouse0", "snout")] == xy[3]["snout"] + (False,)
    with pytest.raises(ProjectError, match="not a video of this project"):
        project.write_predictions(pred, [3], video="other.mp4")
    project.close()
