"""The command line, run in-process through ``poselab.cli.main`` as a batch job would call it."""

from __future__ import annotations

import importlib.util
import json

import numpy as np

from poselab import io
from poselab.cli import main
from poselab.core import poses
from poselab.datasets import SYNTHETIC_PARTS, load_synthetic
from poselab.project import Project


def test_batch_job_synthetic_project_train_analyze_convert(tmp_path, capsys):
    video = tmp_path / "mouse.mp4"
    assert main(["synthetic", str(video), "--frames", "40", "--size", "320", "240", "--seed", "3"]) == 0
    truth = load_synthetic(video).poses
    root = tmp_path / "study"
    assert main(["create", str(root), "--parts", ",".join(SYNTHETIC_PARTS), "--videos", str(video)]) == 0
    assert main(["select-frames", str(root), "--n", "6", "--method", "uniform"]) == 0
    with Project.open(root) as project:  # label from the truth, as a user would in the widget
        for record in project.labels.images():
            xy = truth["position"].isel(animal=0).sel(frame=record.frame).values
            project.labels.set_points(record.image, {("animal0", p): tuple(v) for p, v in zip(SYNTHETIC_PARTS, xy)})
    capsys.readouterr()
    assert main(["train", str(root), "--out", str(tmp_path / "run"), "--epochs", "2",
                 "--input-size", "128", "--scale", "0.5", "--test-fraction", "0.34"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["epochs"] == 2 and summary["n_images"] == 2 and np.isfinite(summary["rmse_px"])
    model = summary["model"]
    assert main(["analyze", model, str(video), "--out", str(tmp_path / "results"), "--batch-size", "8"]) == 0
    result = poses.load(tmp_path / "results" / "mouse.nc")
    assert result.sizes["frame"] == 40 and list(result["part"].values) == list(SYNTHETIC_PARTS)
    assert np.isfinite(result["position"].values).all()
    if importlib.util.find_spec("onnxruntime") and importlib.util.find_spec("onnx"):  # the extra 'onnx'
        assert main(["export", model, str(tmp_path / "model.onnx")]) == 0
        assert main(["analyze", str(tmp_path / "model.onnx"), str(video), "--out", str(tmp_path / "fast"),
                     "--batch-size", "8"]) == 0
        fast = poses.load(tmp_path / "fast" / "mouse.nc")
        # the same poses; a 2-epoch model's flat maps may tie, and a rounding difference can then
        # pick the other peak for a rare point
        close = np.abs(fast["position"].values - result["position"].values).max(-1) < 0.01
        assert close.mean() > 0.95, close.mean()
    # the live mode on the same video replayed at its frame rate, recorded to Zarr
    capsys.readouterr()
    assert main(["live", model, str(video), "--record", str(tmp_path / "live.zarr"), "--crop-size", "128",
                 "--predict-ahead", "0"]) == 0
    printed = capsys.readouterr().out
    assert "poses at" in printed and "live.zarr" in printed
    live = poses.load(tmp_path / "live.zarr", lazy=False)
    n_poses = int(printed.split(" poses at")[0].split()[-1])
    assert live.sizes["frame"] == n_poses >= 1 and live["frame"].values.max() <= 39
    assert (live["ready_time"].values > live["capture_time"].values).all()
    # convert to DeepLabCut and back: the same numbers
    assert main(["convert", str(tmp_path / "results" / "mouse.nc"), str(tmp_path / "mouse_dlc.h5")]) == 0
    back = io.read(tmp_path / "mouse_dlc.h5")
    np.testing.assert_array_equal(back["position"].values, result["position"].values)


def test_user_errors_are_one_line_messages(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "model.safetensors"), str(tmp_path / "missing.mp4")]) == 1
    assert "missing.mp4: no such video" in capsys.readouterr().err
    assert main(["train", str(tmp_path / "nothing"), "--out", str(tmp_path / "o"), "--epochs", "1"]) == 1
    assert "no such project folder or label file" in capsys.readouterr().err


def test_training_an_unlabeled_project_says_how_to_label(tmp_path, capsys):
    video = tmp_path / "mouse.mp4"
    assert main(["synthetic", str(video), "--frames", "20", "--size", "320", "240"]) == 0
    root = tmp_path / "study"
    assert main(["create", str(root), "--parts", ",".join(SYNTHETIC_PARTS), "--videos", str(video)]) == 0
    assert main(["select-frames", str(root), "--n", "4", "--method", "uniform"]) == 0
    capsys.readouterr()
    assert main(["train", str(root), "--out", str(tmp_path / "run"), "--epochs", "1"]) == 1
    error = capsys.readouterr().err
    assert "has 0 labeled image(s)" in error and "poselab.widgets.label" in error and "import-dlc" in error
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_the_zoo_from_the_command_line(tmp_path, capsys):
    assert main(["zoo", "list"]) == 0
    assert "topview_mouse: mouse, top view, 12 keypoints" in capsys.readouterr().out
    video = tmp_path / "mouse.mp4"
    assert main(["synthetic", str(video), "--frames", "12", "--seed", "7102"]) == 0
    assert main(["analyze", "zoo:topview_mouse", str(video), "--out", str(tmp_path / "zero-shot")]) == 0
    result = poses.load(tmp_path / "zero-shot" / "mouse.nc")
    truth = load_synthetic(video).poses
    found, true = (ds["position"].isel(animal=0).sel(part="snout").transpose("frame", "coord").values
                   for ds in (result, truth))
    err = np.linalg.norm(found - true, axis=-1)
    assert result["part"].values.tolist() == list(SYNTHETIC_PARTS) and np.median(err) < 4.0
    root = tmp_path / "study"
    assert main(["create", str(root), "--parts", "snout,tailbase", "--videos", str(video)]) == 0
    assert main(["select-frames", str(root), "--n", "4", "--method", "uniform"]) == 0
    with Project.open(root) as project:
        for record in project.labels.images():
            xy = truth["position"].isel(animal=0).sel(frame=record.frame)
            project.labels.set_points(record.image, {("animal0", "snout"): tuple(xy.sel(part="snout").values),
                                                     ("animal0", "tailbase"): tuple(xy.sel(part="tail_base").values)})
    capsys.readouterr()
    assert main(["train", str(root), "--out", str(tmp_path / "run"), "--epochs", "1", "--init-from", "topview_mouse",
                 "--test-fraction", "0.25"]) == 0
    from poselab.model import read_card
    card = read_card(json.loads(capsys.readouterr().out)["model"])
    assert card["init_from"]["zoo"] == "topview_mouse"
    assert card["init_from"]["parts"] == {"snout": "snout", "tailbase": "tail_base"}
    assert main(["train", str(root), "--out", str(tmp_path / "run2"), "--epochs", "1", "--init-from", "rat"]) == 1
    assert "no such model file or zoo model" in capsys.readouterr().err
