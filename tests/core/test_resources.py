"""poselab.core.resources: cgroup limits read from analytic cgroup trees, and from a real one."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from poselab.core.resources import (
    CgroupError,
    CgroupLimit,
    allowed_resources,
    cpu_limit,
    memory_limit,
    memory_usage,
)

GIB = 2**30


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")


def test_cgroup_v2_limits_of_the_own_group(tmp_path):
    # a Kubernetes pod: 1.5 CPUs and 2 GiB on the pod's group, the process in a child group
    _tree(tmp_path, {"cgroup.controllers": "cpu memory", "kubepods/pod1/cpu.max": "150000 100000",
                     "kubepods/pod1/memory.max": str(2 * GIB), "kubepods/pod1/c1/cpu.max": "max 100000",
                     "kubepods/pod1/c1/memory.max": "max", "kubepods/pod1/c1/memory.current": str(GIB // 4)})
    proc = tmp_path / "proc_cgroup"
    proc.write_text("0::/kubepods/pod1/c1\n")
    assert cpu_limit(tmp_path, proc, affinity=64) == 1.5  # the parent's quota applies
    assert cpu_limit(tmp_path, proc, affinity=1) == 1.0  # the affinity mask is tighter
    assert memory_limit(tmp_path, proc) == 2 * GIB
    assert memory_usage(tmp_path, proc) == GIB // 4
    res = allowed_resources(tmp_path, proc)
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert res.threads == 1 and res.memory_bytes == min(2 * GIB, machine) and res.limited


def test_cgroup_v1_limits_and_no_limit(tmp_path):
    _tree(tmp_path, {"memory/jupyter/alice/memory.limit_in_bytes": str(GIB),
                     "memory/jupyter/memory.limit_in_bytes": str(3 * GIB),
                     "memory/memory.limit_in_bytes": "9223372036854771712",
                     "memory/jupyter/alice/memory.usage_in_bytes": "12345",
                     "cpu/jupyter/alice/cpu.cfs_quota_us": "200000",
                     "cpu/jupyter/alice/cpu.cfs_period_us": "100000",
                     "cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"})
    proc = tmp_path / "proc_cgroup"
    proc.write_text("4:memory:/jupyter/alice\n1:cpu:/jupyter/alice\n0::/\n")
    assert memory_limit(tmp_path, proc) == GIB and memory_usage(tmp_path, proc) == 12345
    assert cpu_limit(tmp_path, proc, affinity=8) == 2.0
    proc.write_text("4:memory:/\n1:cpu:/\n0::/\n")  # the root groups: "unlimited" and -1
    assert memory_limit(tmp_path, proc) is None and cpu_limit(tmp_path, proc, affinity=8) == 8.0


def test_no_cgroups_at_all(tmp_path):
    proc = tmp_path / "missing"
    assert memory_limit(tmp_path, proc) is None and cpu_limit(tmp_path, proc, affinity=3) == 3.0
    assert memory_usage(tmp_path, proc) is None


def _can_make_cgroups() -> bool:
    if sys.platform != "linux" or os.geteuid() != 0:
        return False
    try:
        CgroupLimit(f"poselab-probe-{uuid.uuid4().hex[:8]}", memory_bytes=GIB).remove()
        return True
    except CgroupError:
        return False


needs_cgroups = pytest.mark.skipif(not _can_make_cgroups(), reason="needs root and writable cgroups (v1 or v2)")


@needs_cgroups
def test_a_real_cgroup_limit_is_read_and_torch_threads_fit_it():
    group = CgroupLimit(f"poselab-test-{uuid.uuid4().hex[:8]}", memory_bytes=GIB, cpus=0.5)
    try:
        code = ("import torch; torch.set_num_threads(4)\n"
                "from poselab.core.resources import allowed_resources, fit_torch_threads\n"
                "r = allowed_resources(); print(r.cpus, r.threads, r.memory_bytes, fit_torch_threads())")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                             check=True, preexec_fn=group.preexec)
        assert out.stdout.split() == ["0.5", "1", str(GIB), "1"]
    finally:
        group.remove()


@needs_cgroups
def test_a_process_over_the_limit_is_stopped_alone():
    group = CgroupLimit(f"poselab-test-{uuid.uuid4().hex[:8]}", memory_bytes=200 * 2**20)
    try:
        touch = "import sys; b = bytearray(int(sys.argv[1]) * 2**20); print(len(b) >> 20)"
        small = subprocess.run([sys.executable, "-c", touch, "60"], capture_output=True, text=True,
                               timeout=60, preexec_fn=group.preexec)
        assert small.returncode == 0 and small.stdout.strip() == "60" and group.oom_kills() == 0
        assert group.peak_bytes() >= 60 * 2**20
        big = subprocess.run([sys.executable, "-c", touch, "400"], capture_output=True, text=True,
                             timeout=60, preexec_fn=group.preexec)
        assert big.returncode == -9 and group.oom_kills() == 1  # SIGKILL from the OOM killer
        assert 190 * 2**20 <= group.peak_bytes() <= 200 * 2**20
    finally:
        group.remove()
    assert not group.created
