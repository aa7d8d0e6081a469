"""The label store: edits, views, imports, and durability when the process is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

from poselab.core import poses
from poselab.project.labels import ImageRecord, LabelError, LabelStore

PARTS = ["snout", "left_ear", "tail_base"]


@pytest.fixture
def store(tmp_path):
    with LabelStore(tmp_path / "labels.sqlite", PARTS) as store:
        store.add_images([ImageRecord(f"frames/v/img{i:05d}.png", "videos/v.mp4", i * 10, 640, 480) for i in range(3)])
        yield store


def test_set_move_delete_and_read_back(store):
    image = "frames/v/img00001.png"
    store.set_point(image, "snout", 10.25, 20.5)
    store.set_point(image, "snout", 11.0, 21.0)  # a drag moves the point
    store.set_point(image, "tail_base", 600.0, 400.0)
    assert store.points(image) == {("animal0", "snout"): (11.0, 21.0, False), ("animal0", "tail_base"): (600.0, 400.0, False)}
    assert store.delete_point(image, "tail_base") is True
    assert store.delete_point(image, "tail_base") is False
    table = store.to_dataframe()
    assert table[["image", "video", "frame", "part", "x", "y"]].values.tolist() == [
        [image, "videos/v.mp4", 10, "snout", 11.0, 21.0]
    ]


def test_dataset_view_has_one_frame_per_labeled_image(store):
    store.set_point("frames/v/img00000.png", "snout", 1.0, 2.0)
    store.set_point("frames/v/img00002.png", "left_ear", 3.0, 4.0)
    store.set_point("frames/v/img00002.png", "tail_base", None, None, occluded=True)
    ds = store.to_dataset()
    assert ds.sizes == {"animal": 1, "part": 3, "image": 2, "coord": 2}
    assert ds["image"].values.tolist() == ["frames/v/img00000.png", "frames/v/img00002.png"]
    assert ds["video_frame"].values.tolist() == [0, 20]
    assert ds["video"].dims == ds["video_frame"].dims == ("image",)
    assert ds["video"].values.tolist() == ["videos/v.mp4"] * 2
    assert "frame" not in ds.dims and poses.validate_labels(ds) is ds
    assert ds["position"].isel(image=0).sel(part="snout").values.tolist() == [[1.0, 2.0]]
    assert ds["position"].sel(part="left_ear", image="frames/v/img00002.png").values.tolist() == [[3.0, 4.0]]
    assert int(np.isfinite(ds["position"]).all("coord").sum()) == 2
    assert ds.attrs["width"] == 640
    with_occluded = store.to_dataset(include_occluded=True)
    assert bool(with_occluded["occluded"].sel(part="tail_base").isel(image=1).item())
    assert with_occluded["occluded"].dims == ("animal", "part", "image")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda s: s.set_point("frames/v/img00000.png", "tail", 1, 1), "unknown part 'tail'"),
        (lambda s: s.set_point("frames/v/img00000.png", "snout", 700, 1), "outside the 640x480 image"),
        (lambda s: s.set_point("frames/v/img00000.png", "snout", -3, 1), "outside the 640x480 image"),
        (lambda s: s.set_point("frames/v/img00000.png", "snout", float("nan"), 1), "finite numbers"),
        (lambda s: s.set_point("frames/v/img00000.png", "snout", None, 1), "mark the part occluded"),
        (lambda s: s.set_point("frames/other.png", "snout", 1, 1), "not registered for labeling"),
        (lambda s: s.set_point("frames/v/img00000.png", "snout", 1, 1, animal="rat"), "unknown animal 'rat'"),
    ],
)
def test_bad_edits_are_refused_and_nothing_is_written(store, call, message):
    store.set_point("frames/v/img00000.png", "snout", 5.0, 5.0)
    with pytest.raises(LabelError, match=message):
        call(store)
    assert store.points("frames/v/img00000.png") == {("animal0", "snout"): (5.0, 5.0, False)}


def test_edge_of_image_is_inside(store):
    store.set_point("frames/v/img00000.png", "snout", -0.5, 479.5)  # pixel centres at integers
    assert store.points("frames/v/img00000.png")[("animal0", "snout")][:2] == (-0.5, 479.5)


def test_import_dataset_round_trip(tmp_path, store):
    store.set_point("frames/v/img00000.png", "snout", 1.5, 2.5)
    store.set_point("frames/v/img00001.png", "tail_base", 100.125, 200.0625)
    ds = store.to_dataset()
    with LabelStore(tmp_path / "copy.sqlite", PARTS) as copy:
        records = store.images()
        copy.import_dataset(ds, images=[r for r in records if r.image in set(ds["image"].values)])
        back = copy.to_dataset()
    np.testing.assert_array_equal(back["position"].values, ds["position"].values)
    assert back["image"].values.tolist() == ds["image"].values.tolist()


def test_import_refuses_unknown_parts(store):
    ds = store.to_dataset(only_labeled=False).assign_coords(part=["a", "b", "c"])
    with pytest.raises(LabelError, match=r"parts \['a', 'b', 'c'\] are not parts"):
        store.import_dataset(ds)


def test_multi_animal_requires_the_animal(tmp_path):
    with LabelStore(tmp_path / "l.sqlite", PARTS, animals=["m1", "m2"]) as store:
        store.add_images([ImageRecord("a.png", width=10, height=10)])
        with pytest.raises(LabelError, match="say which animal"):
            store.set_point("a.png", "snout", 1, 1)
        store.set_point("a.png", "snout", 1, 1, animal="m2")
        ds = store.to_dataset()
        assert np.isnan(ds["position"].sel(animal="m1").values).all()
        assert ds["position"].sel(animal="m2", part="snout").values.tolist() == [[1.0, 1.0]]


def test_a_killed_process_loses_no_label(tmp_path):
    """Edits placed by a process that is then killed with SIGKILL are all there on reopen."""
    path = tmp_path / "labels.sqlite"
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import pathlib, time
        from poselab.project.labels import ImageRecord, LabelStore
        store = LabelStore({str(path)!r}, {PARTS!r})
        store.add_images([ImageRecord("img.png", width=640, height=480)])
        for i in range(25):
            store.set_point("img.png", {PARTS!r}[i % 3], 10.0 + i, 20.0 + i)
        pathlib.Path({str(ready)!r}).write_text("placed")
        time.sleep(60)  # a kernel that is still alive, with the store open, when it is killed
        """
    )
    process = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert process.poll() is None, "the labeling process died before placing its points"
            assert time.monotonic() < deadline, "the labeling process did not place its points in time"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    with LabelStore(path, PARTS) as store:
        points = store.points("img.png")
    # The last edit of each part wins: i = 24, 22, 23 for snout, left_ear, tail_base.
    assert points == {
        ("animal0", "snout"): (34.0, 44.0, False),
        ("animal0", "left_ear"): (32.0, 42.0, False),
        ("animal0", "tail_base"): (33.0, 43.0, False),
    }


def test_dataframe_types(store):
    store.set_point("frames/v/img00000.png", "snout", 1.0, 2.0)
    table = store.to_dataframe()
    assert isinstance(table, pd.DataFrame)
    assert table["occluded"].dtype == bool
    assert table["frame"].tolist() == [0]


def test_points_remember_who_placed_them(store):
    image = "frames/v/img00000.png"
    store.set_points(image, {("animal0", "snout"): (5.0, 6.0), ("animal0", "tail_base"): (7.0, 8.0)},
                     source="predicted")
    assert store.point_sources(image) == {("animal0", "snout"): "predicted", ("animal0", "tail_base"): "predicted"}
    store.set_point(image, "snout", 5.5, 6.5)  # a person moves the prediction: now theirs
    assert store.point_sources(image) == {("animal0", "snout"): "human", ("animal0", "tail_base"): "predicted"}
    assert store.to_dataframe()["source"].tolist() == ["human", "predicted"]
    with pytest.raises(LabelError, match="source must be one of"):
        store.set_points(image, {("animal0", "snout"): (1.0, 1.0)}, source="model")


def test_a_schema_1_store_is_migrated_and_its_points_count_as_human(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1');"
        "CREATE TABLE images (id INTEGER PRIMARY KEY, image TEXT NOT NULL UNIQUE, video TEXT NOT NULL DEFAULT '',"
        " frame INTEGER NOT NULL DEFAULT -1, width INTEGER NOT NULL DEFAULT 0, height INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE points (image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,"
        " animal TEXT NOT NULL, part TEXT NOT NULL, x REAL, y REAL, occluded INTEGER NOT NULL DEFAULT 0,"
        " edited TEXT NOT NULL, PRIMARY KEY (image_id, animal, part));"
        "INSERT INTO images VALUES (1, 'a.png', '', -1, 10, 10);"
        "INSERT INTO points VALUES (1, 'animal0', 'snout', 1.5, 2.5, 0, '2024-01-01');"
    )
    db.commit()
    db.close()
    with LabelStore(path, PARTS) as store:
        assert store.points("a.png") == {("animal0", "snout"): (1.5, 2.5, False)}
        assert store.point_sources("a.png") == {("animal0", "snout"): "human"}
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("2",)
