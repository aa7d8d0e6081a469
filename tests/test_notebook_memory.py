"""The memory-limited runner of benchmarks/notebook_memory.py: a script over its limit is killed
and reported, one under it passes with its peak measured (about a second in all)."""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "notebook_memory.py"
spec = importlib.util.spec_from_file_location("notebook_memory", SCRIPT)
notebook_memory = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_memory)

MIB = 1024 ** 2


def allocate(mib: int, hold_s: float = 0.0) -> list[str]:
    """A Python process that touches ``mib`` MiB (every page written, so it is really resident)
    and holds it ``hold_s`` seconds."""
    return [sys.executable, "-c", f"import time\nb = bytearray({mib} * 2**20)\n"
            f"for i in range(0, len(b), 4096): b[i] = 1\ntime.sleep({hold_s})\nprint('done')"]


@pytest.fixture(scope="module")
def cgroup_mode():
    group = notebook_memory.make_cgroup(f"poselab-test-probe-{os.getpid()}", 200 * MIB)
    if group is None:
        pytest.skip("no writable memory cgroup here (cgroup v1 or v2 needs root or delegation)")
    group.remove()
    return "cgroup-v2" if group.v2 else "cgroup-v1"


def test_over_the_limit_is_killed_and_reported(cgroup_mode):
    r = notebook_memory.run_limited(allocate(300), 200 * MIB, timeout=60, mode="cgroup", name="t1")
    assert r["mode"] == cgroup_mode
    assert r["oom_killed"] and r["returncode"] != 0
    assert r["peak"] <= 200 * MIB + MIB


def test_under_the_limit_passes_with_its_peak(cgroup_mode):
    r = notebook_memory.run_limited(allocate(60), 200 * MIB, timeout=60, mode="cgroup", name="t2")
    assert r["returncode"] == 0 and not r["oom_killed"] and not r["timed_out"]
    assert 60 * MIB < r["peak"] < 200 * MIB


def test_psutil_mode_kills_over_the_limit():
    # works without any cgroup: the sampled tree RSS goes over the limit and the tree is killed
    r = notebook_memory.run_limited(allocate(400, hold_s=5), 150 * MIB,
                                    timeout=60, mode="psutil", name="t3")
    assert r["mode"] == "psutil" and r["oom_killed"] and r["returncode"] != 0


def test_psutil_mode_counts_private_memory_not_library_pages(tmp_path):
    # 300 MiB of a file mapped and read (file pages, as torch's shared libraries are) stay under a
    # 150 MiB limit on private memory; RSS would count them and kill the process
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(300 * MIB)
    reader = [sys.executable, "-c",
              f"import mmap, time\nf = open({str(big)!r}, 'rb')\nm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)\n"
              "s = sum(m[i] for i in range(0, len(m), 4096))\ntime.sleep(1)\nprint('done', s)"]
    r = notebook_memory.run_limited(reader, 150 * MIB, timeout=60, mode="psutil", name="t4")
    assert r["returncode"] == 0 and not r["oom_killed"]
    assert r["tree_rss"] > 250 * MIB       # RSS saw the file pages
    assert r["anon"] < 100 * MIB           # the limit held against private memory only
