"""poselab.core.resources: cgroup limits read from analytic cgroup trees, and from a real one;
free memory, batch sizes that fit it, and memory handed back to the kernel."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import pytest

from poselab import PoselabError
from poselab.core.errors import ResourceError
from poselab.core.resources import (
    BatchRequest,
    BatchSizeWarning,
    CgroupError,
    CgroupLimit,
    Resources,
    StepMemory,
    allowed_resources,
    cpu_limit,
    fit_batch_size,
    fit_batch_to_memory,
    memory_available,
    memory_free,
    memory_limit,
    memory_reclaimable,
    memory_usage,
    release_freed_memory,
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


def test_free_memory_is_the_limit_less_what_the_group_uses_but_not_its_page_cache(tmp_path):
    # a student's server: 2 GiB, 1.25 GiB in use of which 0.25 GiB is page cache of a video read
    _tree(tmp_path, {"cgroup.controllers": "cpu memory", "user/alice/memory.max": str(2 * GIB),
                     "user/alice/memory.current": str(GIB + GIB // 4),
                     "user/alice/memory.stat": f"anon {GIB}\nfile {GIB // 4}\ninactive_file {GIB // 4}\n"
                                               "active_file 0"})
    proc = tmp_path / "proc_cgroup"
    proc.write_text("0::/user/alice\n")
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemFree:  100 kB\nMemAvailable:   10485760 kB\n")
    assert memory_available(meminfo) == 10 * GIB
    assert memory_reclaimable(tmp_path, proc) == GIB // 4
    res = allowed_resources(tmp_path, proc)
    assert res.memory_used_bytes == GIB + GIB // 4 and res.memory_reclaimable_bytes == GIB // 4
    assert memory_free(res, meminfo) == GIB  # 2 - 1.25 + 0.25
    meminfo.write_text("MemAvailable:     524288 kB\n")  # a crowded host has less than the group's headroom
    assert memory_free(res, meminfo) == GIB // 2
    # v1: the hierarchical total_inactive_file of the group
    _tree(tmp_path / "v1", {"memory/hub/bob/memory.limit_in_bytes": str(GIB),
                            "memory/hub/bob/memory.usage_in_bytes": str(GIB // 2),
                            "memory/hub/bob/memory.stat": f"inactive_file 1\ntotal_inactive_file {GIB // 8}"})
    proc.write_text("4:memory:/hub/bob\n")
    meminfo.write_text("MemAvailable:   10485760 kB\n")
    assert memory_free(allowed_resources(tmp_path / "v1", proc), meminfo) == GIB // 2 + GIB // 8


def test_free_memory_without_a_cgroup_limit_is_the_machines_available_memory(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:       32000000 kB\nMemAvailable:    3145728 kB\n")
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    unlimited = Resources(cpus=2, threads=2, memory_bytes=machine, memory_used_bytes=GIB, limited=False)
    assert memory_free(unlimited, meminfo) == 3 * GIB
    assert memory_free(unlimited, tmp_path / "no-meminfo") == machine - GIB  # macOS, Windows: no lowering
    assert memory_available(tmp_path / "no-meminfo") is None


def test_fit_batch_size_is_the_largest_that_fits():
    # a step needs 100 MB + 30 MB per image
    mb = 10**6
    assert fit_batch_size(8, 30 * mb, 100 * mb, 400 * mb, minimum=2) == 8  # 340 MB fits
    assert fit_batch_size(8, 30 * mb, 100 * mb, 339 * mb, minimum=2) == 7
    assert fit_batch_size(8, 30 * mb, 100 * mb, 190 * mb, minimum=2) == 3
    assert fit_batch_size(8, 30 * mb, 100 * mb, 160 * mb, minimum=2) == 2  # exactly the minimum
    assert fit_batch_size(8, 30 * mb, 100 * mb, 159 * mb, minimum=2) == 0  # not even 2 images
    assert fit_batch_size(16, 30 * mb, 100 * mb, 131 * mb) == 1
    assert fit_batch_size(1, 30 * mb, 100 * mb, 129 * mb) == 0
    assert fit_batch_size(4, 30 * mb, 100 * mb, 0) == 0


def _server(free: int, limit: int = 2 * GIB) -> Resources:
    """A 1-CPU server under a cgroup limit (below any test machine's RAM) with ``free`` bytes left."""
    return Resources(cpus=1, threads=1, memory_bytes=limit, memory_used_bytes=limit - free, limited=True)


def test_a_batch_that_does_not_fit_is_lowered_with_one_warning_saying_why():
    memory = StepMemory(bytes_per_pixel=2000, fixed_bytes=100 * 2**20)  # 256 px crops: 125 MiB an image
    free = int(0.9 * GIB)
    with pytest.warns(BatchSizeWarning) as caught:
        batch = fit_batch_to_memory(BatchRequest(8, minimum=2), memory, 256 * 256, resources=_server(free))
    assert batch == 6  # 100 MiB + 6 * 125 MiB = 0.83 GiB <= 0.90 GiB < 0.95 GiB
    assert len(caught) == 1
    assert str(caught[0].message) == (
        "batch_size 8 needs about 1.07 GiB; 0.90 GiB is free on this server (2.00 GiB limit, "
        "1.10 GiB in use): training with batch_size 6 (needs about 0.83 GiB)")
    assert caught[0].filename == __file__  # points at the caller's line
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a batch that fits: no warning
        assert fit_batch_to_memory(BatchRequest(4, minimum=2), memory, 256 * 256, resources=_server(free)) == 4
        assert fit_batch_to_memory(BatchRequest(4), memory, 256 * 256, resources=_server(GIB)) == 4


def test_a_step_that_cannot_fit_raises_a_resource_error_saying_what_to_do():
    memory = StepMemory(bytes_per_pixel=2000, fixed_bytes=100 * 2**20)
    with pytest.raises(ResourceError) as raised:
        request = BatchRequest(8, minimum=2, step="training", advice="a smaller input_size")
        fit_batch_to_memory(request, memory, 256 * 256, resources=_server(GIB // 4))
    message = str(raised.value)
    assert message.startswith("training needs about 0.34 GiB with batch_size 2, the smallest it can use "
                              "(batch_size 8 would need 1.07 GiB), but 0.25 GiB is free on this server "
                              "(2.00 GiB limit, 1.75 GiB in use).")
    assert "Shut Down All Kernels" in message and "a smaller input_size" in message
    assert "a machine with more memory" in message
    assert isinstance(raised.value, PoselabError) and isinstance(raised.value, MemoryError)


def test_release_freed_memory_hands_freed_pages_back_to_the_kernel():
    code = textwrap.dedent("""
        import os
        from poselab.core.resources import release_freed_memory
        page = os.sysconf("SC_PAGE_SIZE")
        def rss():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * page
        # 200k objects of 1 KiB (malloc's, not Python's small-object arenas); every 16th kept, so
        # the freed ones are holes glibc keeps rather than a heap top it trims by itself
        blocks = [bytes(1024 - 33) + i.to_bytes(4, "little") for i in range(200_000)]
        kept = blocks[::16]
        del blocks
        before = rss()
        ran = release_freed_memory()
        print(ran, before, rss())
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    ran, before, after = out.stdout.split()
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        assert ran == "False"
        return
    assert ran == "True"
    assert int(before) - int(after) > 100 * 2**20, (int(before) >> 20, int(after) >> 20)  # of ~190 MiB freed


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
