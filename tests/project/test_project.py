"""Projects: creation, portability, videos, frame selection, DeepLabCut import/export."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from poselab.io.video import VideoError, open_video, write_video
from poselab.project import Project, ProjectError
from poselab.project.config import ConfigError


def _scenes(n_per_scene: int = 12, size=(64, 48)):
    """Four visually distinct scenes, each a block of frames."""
    width, height = size
    rng = np.random.default_rng(1)
    colours = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (220, 220, 220)]
    for colour in colours:
        for _ in range(n_per_scene):
            frame = np.full((height, width, 3), colour, np.uint8)
            yield np.clip(frame + rng.integers(0, 10, frame.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def video(tmp_path):
    return write_video(tmp_path / "data" / "clip.mp4", _scenes(), fps=30.0)


def test_create_open_and_portability(tmp_path, video):
    project = Project.create(tmp_path / "study", parts=["snout", "tail"], videos=[video],
                             skeleton=[["snout", "tail"]])
    assert project.videos == ["../data/clip.mp4"]  # relative, never absolute
    project.close()
    # Move the project together with its data: everything still resolves.
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(str(tmp_path / "study"), moved / "study")
    shutil.move(str(tmp_path / "data"), moved / "data")
    reopened = Project.open(moved / "study")
    assert reopened.parts == ["snout", "tail"] and reopened.config.skeleton == [["snout", "tail"]]
    with open_video(reopened.path(reopened.videos[0])) as reader:
        assert len(reader) == 48
    reopened.close()


def test_copy_videos_and_refusals(tmp_path, video):
    project = Project.create(tmp_path / "study", parts=["a"], videos=[video], copy_videos=True)
    assert project.videos == ["videos/clip.mp4"] and (tmp_path / "study/videos/clip.mp4").exists()
    with pytest.raises(ProjectError, match="already holds a project"):
        Project.create(tmp_path / "study", parts=["a"])
    with pytest.raises(VideoError):
        project.add_videos([tmp_path / "missing.mp4"])
    with pytest.raises(ConfigError, match="duplicates"):
        Project.create(tmp_path / "other", parts=["a", "a"])
    with pytest.raises(FileNotFoundError, match="not a poselab project"):
        Project.open(tmp_path)
    project.close()


def test_select_frames_kmeans_then_uniform_never_repeats(tmp_path, video):
    project = Project.create(tmp_path / "study", parts=["a"], videos=[video])
    first = project.select_frames(n=4, method="kmeans")
    records = {r.image: r for r in project.labels.images()}
    frames = sorted(records[i].frame for i in first)
    assert sorted(f // 12 for f in frames) == [0, 1, 2, 3]  # one frame from each scene
    second = project.select_frames(n=10, method="uniform")
    records = {r.image: r for r in project.labels.images()}
    assert not {records[i].frame for i in first} & {records[i].frame for i in second}
    assert len(project.labels.images()) == 14
    third = project.select_frames(n=6, method="kmeans+uniform")
    records = {r.image: r for r in project.labels.images()}
    assert len(third) == 6 and not {records[i].frame for i in third} & {records[i].frame for i in first + second}
    assert len(project.labels.images()) == 20
    # The extracted PNG equals the video frame.
    import cv2

    image = cv2.cvtColor(cv2.imread(str(project.path(first[0]))), cv2.COLOR_BGR2RGB)
    with open_video(video) as reader:
        np.testing.assert_array_equal(image, reader.read(records[first[0]].frame))
    assert records[first[0]].width == 64 and records[first[0]].height == 48
    with pytest.raises(ProjectError, match="unknown frame selection method"):
        project.select_frames(n=2, method="random")
    project.close()


def test_import_openfield_matches_the_source_csv_exactly(tmp_path, shared_data):
    source = shared_data / "openfield-Pranav-2018-10-30"
    project = Project.from_deeplabcut(source, tmp_path / "openfield")
    assert project.parts == ["snout", "leftear", "rightear", "tailbase"]
    labels = project.labels_dataset()
    assert labels.sizes["image"] == 116 and "frame" not in labels.dims
    table = pd.read_csv(source / "labeled-data/m4s1/CollectedData_Pranav.csv", header=[0, 1, 2], index_col=0)
    for part_index, part in enumerate(project.parts):
        for coord in ("x", "y"):
            expected = table[("Pranav", part, coord)].to_numpy(dtype=float)
            got = labels["position"].sel(part=part, coord=coord).values[0]
            np.testing.assert_array_equal(got, expected)
    names = [f"labeled-data/m4s1/{n.split('/')[-1]}" for n in labels["image"].values]
    assert names == table.index.tolist()
    # Frames are copied into the project, so it no longer needs the DeepLabCut folder.
    assert (project.root / "frames/m4s1/img0000.png").exists()
    assert project.videos == [project.relative(source / "videos/m3v1mp4.mp4")]
    # Export back to DeepLabCut: the same table, to the last bit.
    out = project.export_deeplabcut(tmp_path / "CollectedData_Pranav.h5", scorer="Pranav")
    exported = pd.read_hdf(out)
    original = pd.read_hdf(source / "labeled-data/m4s1/CollectedData_Pranav.h5")
    np.testing.assert_array_equal(exported.to_numpy(dtype=float), original.to_numpy(dtype=float))
    project.close()


def test_labeled_video_uses_the_project_skeleton_and_threshold(tmp_path):
    from poselab.datasets.synthetic import synthetic
    from poselab.io.render import labeled_video

    world = synthetic(tmp_path / "m.mp4", n_frames=6, size=(320, 240), seed=1)
    parts = ["snout", "body_centre", "tail_base"]
    pred = world.poses[["position", "likelihood"]].sel(part=parts).copy(deep=True)
    pred["likelihood"].loc[dict(part="tail_base")] = 0.5
    project = Project.create(tmp_path / "p", parts + ["ear"], animals=["mouse0"], videos=[world.video],
                             skeleton=[["snout", "body_centre"], ["body_centre", "tail_base"], ["snout", "ear"]])
    assert project.config.skeleton_of(parts) == [["snout", "body_centre"], ["body_centre", "tail_base"]]
    out = project.labeled_video(pred, progress=False)
    assert out == project.poses_dir / "m_labeled.mp4"
    same = labeled_video(pred, world.video, tmp_path / "same.mp4", skeleton=[["snout", "body_centre"],
                         ["body_centre", "tail_base"]], likelihood_threshold=0.6, progress=False)
    plain = labeled_video(pred, world.video, tmp_path / "plain.mp4", progress=False)
    with open_video(out) as a, open_video(same) as b, open_video(plain) as c:
        assert len(a) == 6
        for f in range(6):
            np.testing.assert_array_equal(a.read(f), b.read(f))
        assert any(not np.array_equal(a.read(f), c.read(f)) for f in range(6))
    project.close()


def test_video_name_is_public(tmp_path, video):
    project = Project.create(tmp_path / "study", parts=["a"], videos=[video])
    assert project.video_name() == project.video_name(video) == "../data/clip.mp4"
    with pytest.raises(ProjectError, match="not a video of this project"):
        project.video_name("nope.mp4")
    empty = Project.create(tmp_path / "empty", parts=["a"])
    with pytest.raises(ProjectError, match="has no videos"):
        empty.video_name()
    project.close()
    empty.close()
