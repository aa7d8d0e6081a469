"""Project configuration: YAML round trip and validation messages."""

from __future__ import annotations

import pytest

from poselab.project.config import ConfigError, ProjectConfig, VideoEntry


def test_round_trip(tmp_path):
    config = ProjectConfig(
        name="study",
        parts=["snout", "left_ear", "right_ear"],
        skeleton=[["snout", "left_ear"]],
        flip_pairs=[["left_ear", "right_ear"]],
        videos=[VideoEntry("videos/a.mp4")],
        likelihood_threshold=0.5,
    )
    config.save(tmp_path / "poselab.yaml")
    assert ProjectConfig.load(tmp_path / "poselab.yaml") == config
    text = (tmp_path / "poselab.yaml").read_text()
    assert "videos/a.mp4" in text and "!!python" not in text


@pytest.mark.parametrize(
    "data, message",
    [
        ({"parts": ["a"]}, "missing required setting 'name'"),
        ({"name": "x", "parts": ["a"], "bodyparts": ["a"]}, "unknown setting 'bodyparts'"),
        ({"name": "x", "parts": []}, "must name at least one part"),
        ({"name": "x", "parts": ["a", "a"]}, "'parts' has duplicates: ['a']"),
        ({"name": "x", "parts": ["a"], "skeleton": [["a", "b"]]}, "['b'] in ['a', 'b'] are not parts"),
        ({"name": "x", "parts": ["a"], "likelihood_threshold": 2}, "must be a number in [0, 1]"),
        ({"name": "x", "parts": ["a"], "videos": ["/data/v.mp4"]}, "is absolute"),
        ({"name": "x", "parts": ["a"], "videos": [{"file": "v.mp4"}]}, "each video needs a 'path'"),
        ([1, 2], "expected a mapping"),
    ],
)
def test_invalid_configs_say_what_to_fix(data, message):
    with pytest.raises(ConfigError) as error:
        ProjectConfig.from_dict(data)
    assert message in str(error.value)


def test_yaml_is_safe_loaded(tmp_path):
    path = tmp_path / "poselab.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\nparts: [a]\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        ProjectConfig.load(path)


def test_missing_file_says_how_to_create(tmp_path):
    with pytest.raises(FileNotFoundError, match="Project.create"):
        ProjectConfig.load(tmp_path / "poselab.yaml")
