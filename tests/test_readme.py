"""Every code block of README.md runs as written, on what a fresh clone has (issue 20).

* The ```` ```python ```` blocks run in the order they appear, in one namespace, in an empty
  temporary folder: what a student pasting the README into one notebook, top to bottom, gets.
  Tracebacks point at README.md's own line numbers.
* A ```` ```python no-run ```` block is shown to the reader only (the README says why beside it);
  it is compiled here, not run. There may be few of them.
* The ```` ```bash ```` blocks of the "Command line" section run line by line, each block in an
  empty folder of its own, with ``poselab`` the installed console script. A comment line that
  stands for a person's work (labeling frames) is done here from the video's ground truth; the
  table ``HUMAN_STEPS`` says which.
* A block that uses a real public dataset (``poselab.datasets.locate("name")`` in Python, a
  registered dataset's folder name in a shell line) is skipped with the reason when that dataset
  is not on this machine (``$POSELAB_DATA`` or ``../shared/datasets``); in a shell block the
  dataset's folder is linked into the block's folder first, as the README tells a user to place it.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>[^`]*)$")
MAX_NO_RUN = 2  # blocks shown but not run: keep them few


@dataclass(frozen=True)
class Block:
    info: str  # the fence's info string, e.g. "python", "python no-run", "bash", ""
    line: int  # README.md line number of the block's first code line
    code: str  # dedented
    section: str  # the "## " heading the block sits under

    @property
    def name(self) -> str:
        return f"README.md:{self.line} ({self.section})"


def read_blocks(text: str) -> list[Block]:
    """The fenced code blocks of a Markdown text (indented fences inside lists included)."""
    blocks: list[Block] = []
    section = ""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("## "):
            section = line[3:].strip()
        match = FENCE.match(line)
        if match is None:
            i += 1
            continue
        indent = match["indent"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != f"{indent}```":
            body.append(lines[j])
            j += 1
        if j == len(lines):
            raise AssertionError(f"README.md:{i + 1}: code block never closed")
        code = textwrap.dedent("\n".join(body)) + "\n"
        blocks.append(Block(match["info"].strip(), i + 2, code, section))
        i = j + 1
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))
PYTHON = [b for b in BLOCKS if b.info == "python"]
NO_RUN = [b for b in BLOCKS if b.info == "python no-run"]
SHELL = [b for b in BLOCKS if b.info == "bash" and b.section == "Command line"]


# --- what the README's blocks name that a fresh clone does not have ------------------------------

def _missing_datasets(names: set[str]) -> list[str]:
    """Reasons for the registered datasets of ``names`` that are not on this machine."""
    from poselab.datasets import DatasetNotFoundError, locate

    missing = []
    for name in sorted(names):
        try:
            locate(name)
        except DatasetNotFoundError as error:
            missing.append(f"real dataset {name!r} not on this machine ({error})")
    return missing


def _datasets_in_python(code: str) -> set[str]:
    return set(re.findall(r"""datasets\.locate\(\s*["']([\w-]+)["']""", code))


def _datasets_in_shell(code: str) -> set[str]:
    from poselab.datasets import REGISTRY

    return {name for name, info in REGISTRY.items() if info.folder in code}


def _label_study_from_truth(folder: Path) -> None:
    """The person's step "label the extracted frames", from the synthetic video's ground truth."""
    from poselab.datasets import load_synthetic
    from poselab.project import Project

    truth = load_synthetic(folder / "data" / "mouse.mp4").poses["position"].isel(animal=0)
    with Project.open(folder / "study") as project:
        records = project.labels.images()
        assert records, "the README's shell block should choose frames before this step"
        for record in records:
            xy = truth.sel(frame=record.frame)
            project.labels.set_points(record.image, {
                (project.animals[0], part): tuple(float(v) for v in xy.sel(part=part).values)
                for part in project.parts
            })


# A comment line of a shell block that starts with one of these is a person's work: done here.
HUMAN_STEPS = {"# now label the extracted frames": _label_study_from_truth}


# --- the README itself ---------------------------------------------------------------------------

def test_readme_blocks_are_the_kinds_this_test_knows():
    """Python blocks are run or explicitly not run; the exceptions are few and explained."""
    assert len(PYTHON) >= 8, f"only {len(PYTHON)} python blocks found: is the parser still right?"
    assert SHELL, "no bash block in the 'Command line' section"
    for block in BLOCKS:
        known = block.info in ("python", "python no-run")
        assert known or not block.info.startswith("py"), (
            f"{block.name}: unknown info string {block.info!r}: use 'python' (run by "
            "tests/test_readme.py) or 'python no-run' (shown only, with a sentence why)")
    assert len(NO_RUN) <= MAX_NO_RUN, f"{len(NO_RUN)} 'python no-run' blocks: make them runnable"
    lines = README.read_text(encoding="utf-8").splitlines()
    for block in NO_RUN:
        before = " ".join(lines[max(0, block.line - 8): block.line - 1])
        assert "not run" in before, f"{block.name}: say beside a 'no-run' block why it is not run"
        compile(block.code, block.name, "exec")  # at least valid Python
    for step in HUMAN_STEPS:
        found = sum(step in b.code for b in SHELL)
        assert found == 1, f"the shell step {step!r} is in the README {found} times, not once"


# --- the Python blocks, in order, in one namespace -----------------------------------------------

class _Session:
    def __init__(self, folder: Path):
        self.folder = folder
        self.namespace: dict = {"__name__": "__readme__"}
        self.failed: str | None = None


@pytest.fixture(scope="module")
def readme_session(tmp_path_factory):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = tmp_path_factory.mktemp("readme")
    before = Path.cwd()
    os.chdir(folder)
    session = _Session(folder)
    try:
        yield session
    finally:
        os.chdir(before)
        for value in list(session.namespace.values()):  # projects hold SQLite connections
            close = getattr(value, "close", None)
            if callable(close) and type(value).__name__ == "Project":
                close()
        session.namespace.clear()
        plt.close("all")
        gc.collect()


@pytest.mark.parametrize("block", PYTHON, ids=[f"L{b.line}" for b in PYTHON])
def test_python_block_runs_as_written(block, readme_session):
    if readme_session.failed:
        pytest.skip(f"an earlier README block failed: {readme_session.failed}")
    missing = _missing_datasets(_datasets_in_python(block.code))
    if missing:
        pytest.skip(f"{block.name} needs " + "; ".join(missing))
    code = "\n" * (block.line - 1) + block.code  # tracebacks give README.md's line numbers
    try:
        exec(compile(code, str(README), "exec"), readme_session.namespace)
    except BaseException:
        readme_session.failed = block.name
        raise


# --- the shell blocks, line by line --------------------------------------------------------------

def _shell_env(tmp_path: Path) -> dict:
    """PATH with the running Python's scripts first; a ``poselab`` wrapper if none is installed."""
    env = dict(os.environ)
    scripts = Path(sys.executable).parent
    path = f"{scripts}{os.pathsep}{env.get('PATH', '')}"
    if shutil.which("poselab", path=str(scripts)) is None:  # e.g. run from a source tree
        wrappers = tmp_path / "bin"
        wrappers.mkdir()
        wrapper = wrappers / "poselab"
        wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m poselab.cli "$@"\n')
        wrapper.chmod(0o755)
        path = f"{wrappers}{os.pathsep}{path}"
    env["PATH"] = path
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _commands(block: Block) -> list[tuple[int, str]]:
    """(README line, command) pairs; continued lines joined, comment lines kept as they are."""
    commands: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for offset, raw in enumerate(block.code.splitlines()):
        line = raw.strip()
        if pending is not None:
            start, text = pending
            text += " " + line.rstrip("\\").strip()
            pending = (start, text) if line.endswith("\\") else None
            if pending is None:
                commands.append((start, text))
            continue
        if not line:
            continue
        if line.endswith("\\"):
            pending = (block.line + offset, line.rstrip("\\").strip())
        else:
            commands.append((block.line + offset, line))
    assert pending is None, f"{block.name}: a line continues past the block's end"
    return commands


@pytest.mark.parametrize("block", SHELL, ids=[f"L{b.line}" for b in SHELL])
def test_command_line_block_runs_as_written(block, tmp_path):
    names = _datasets_in_shell(block.code)
    missing = _missing_datasets(names)
    if missing:
        pytest.skip(f"{block.name} needs " + "; ".join(missing))
    from poselab.datasets import REGISTRY, locate

    folder = tmp_path / "work"
    folder.mkdir()
    for name in names:  # "with the project in the current folder", as the README says
        (folder / REGISTRY[name].folder).symlink_to(locate(name), target_is_directory=True)
    env = _shell_env(tmp_path)
    ran = 0
    for line, command in _commands(block):
        if command.startswith("#"):
            for step, action in HUMAN_STEPS.items():
                if command.startswith(step):
                    action(folder)
            continue
        done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=600)
        assert done.returncode == 0, (
            f"README.md:{line}: `{command}` exited with {done.returncode}\n"
            f"--- stdout ---\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}")
        ran += 1
    assert ran >= 1, f"{block.name}: no command ran"
