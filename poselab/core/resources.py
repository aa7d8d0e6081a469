"""The CPUs and memory this process may use: cgroup limits, not the host's counts.

On a JupyterHub (The Littlest JupyterHub, Zero to JupyterHub on Kubernetes) or in a container, a
student's server is limited to, say, 1 CPU and 2 GiB by cgroups, while ``os.cpu_count()`` and
torch's default thread count still see every core of the host: 32 torch threads sharing one
core run several times slower than one. :func:`allowed_resources` reads the limits (cgroup v2
and v1, the CPU affinity mask) and :func:`fit_torch_threads` keeps torch's thread count within
them; training and video analysis call it before they start.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CgroupError", "CgroupLimit", "Resources", "allowed_resources", "cpu_limit", "fit_torch_threads",
           "memory_limit", "memory_usage"]

CGROUP_ROOT = Path("/sys/fs/cgroup")
_UNLIMITED = 1 << 60  # cgroup v1 writes "no limit" as a huge number (9223372036854771712)


@dataclass(frozen=True)
class Resources:
    """What this process may use.

    Attributes
    ----------
    cpus : float
        CPU cores (a cgroup quota may allow a fraction, e.g. 0.5).
    threads : int
        Compute threads that fit: ``floor(cpus)``, at least 1.
    memory_bytes : int
        The memory limit (bytes): the cgroup's, or the machine's RAM where there is none.
    memory_used_bytes : int or None
        Memory in use in the cgroup now (bytes; None where no cgroup tells).
    limited : bool
        True where a cgroup limits the CPUs or the memory below the machine's.
    """

    cpus: float
    threads: int
    memory_bytes: int
    memory_used_bytes: int | None
    limited: bool

    def __str__(self) -> str:
        gib = self.memory_bytes / 2**30
        used = "" if self.memory_used_bytes is None else f" ({self.memory_used_bytes / 2**30:.2f} GiB in use)"
        return (f"{self.cpus:g} CPU(s), {self.threads} thread(s), {gib:.2f} GiB memory{used}"
                + (" (cgroup limits)" if self.limited else ""))


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def _own_groups(root: Path, proc_cgroup: Path) -> tuple[list[Path], dict[str, list[Path]]]:
    """The folders of this process's cgroup and of its ancestors (limits of a parent apply too):
    the cgroup v2 ones and, per v1 controller, the v1 ones; innermost first."""
    text = _read(proc_cgroup) or ""
    v2: list[Path] = []
    v1: dict[str, list[Path]] = {}

    def chain(base: Path, rel: str) -> list[Path]:
        parts = [p for p in rel.strip("/").split("/") if p]
        paths = [base.joinpath(*parts[:k]) for k in range(len(parts), -1, -1)]
        return [p for p in paths if p.is_dir()] or [base]

    for line in text.splitlines():
        fields = line.split(":", 2)
        if len(fields) != 3:
            continue
        _, controllers, rel = fields
        if controllers == "":
            if (root / "cgroup.controllers").exists():  # a pure v2 mount
                v2 = chain(root, rel)
            elif (root / "unified" / "cgroup.controllers").exists():  # hybrid: v2 at unified/
                v2 = chain(root / "unified", rel)
        for controller in controllers.split(","):
            if controller in ("memory", "cpu", "cpuacct") and (root / controller).is_dir():
                v1[controller] = chain(root / controller, rel)
    if not text and (root / "cgroup.controllers").exists():
        v2 = [root]
    return v2, v1


def cpu_limit(root: str | os.PathLike = CGROUP_ROOT, proc_cgroup: str | os.PathLike = "/proc/self/cgroup",
              affinity: int | None = None) -> float:
    """CPU cores this process may use: the smallest of the affinity mask and the cgroup quotas.

    Parameters
    ----------
    root
        Where cgroups are mounted.
    proc_cgroup
        The process's cgroup membership file.
    affinity
        CPUs in the affinity mask (default: ``os.sched_getaffinity``).

    Returns
    -------
    float
        Cores (a quota of 50 ms per 100 ms is 0.5).
    """
    root = Path(root)
    if affinity is None:
        affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    limit = float(affinity)
    v2, v1 = _own_groups(root, Path(proc_cgroup))
    for group in v2:  # "max 100000" or "200000 100000"
        quota = (_read(group / "cpu.max") or "max").split()
        if len(quota) == 2 and quota[0] != "max":
            limit = min(limit, int(quota[0]) / int(quota[1]))
    for group in v1.get("cpu", []) + v1.get("cpuacct", []):
        quota, period = _read(group / "cpu.cfs_quota_us"), _read(group / "cpu.cfs_period_us")
        if quota and period and int(quota) > 0:
            limit = min(limit, int(quota) / int(period))
    return limit


def memory_limit(root: str | os.PathLike = CGROUP_ROOT,
                 proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> int | None:
    """The cgroup memory limit of this process (bytes), the tightest of its groups; None if none."""
    v2, v1 = _own_groups(Path(root), Path(proc_cgroup))
    limits = []
    for group in v2:
        value = _read(group / "memory.max")
        if value and value != "max":
            limits.append(int(value))
    for group in v1.get("memory", []):
        value = _read(group / "memory.limit_in_bytes")
        if value and int(value) < _UNLIMITED:
            limits.append(int(value))
    return min(limits) if limits else None


def memory_usage(root: str | os.PathLike = CGROUP_ROOT,
                 proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> int | None:
    """Memory in use in this process's own cgroup (bytes), as the limit counts it; None if unknown."""
    v2, v1 = _own_groups(Path(root), Path(proc_cgroup))
    for path in [g / "memory.current" for g in v2[:1]] + [g / "memory.usage_in_bytes" for g in v1.get("memory", [])[:1]]:
        value = _read(path)
        if value:
            return int(value)
    return None


def _machine_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return _UNLIMITED


def allowed_resources(root: str | os.PathLike = CGROUP_ROOT,
                      proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> Resources:
    """The CPUs and memory this process may use (see :class:`Resources`)."""
    machine_cpus = float(os.cpu_count() or 1)
    cpus = cpu_limit(root, proc_cgroup)
    machine_memory = _machine_memory()
    limit = memory_limit(root, proc_cgroup)
    memory = min(limit, machine_memory) if limit is not None else machine_memory
    return Resources(cpus=cpus, threads=max(1, math.floor(cpus + 1e-9)), memory_bytes=int(memory),
                     memory_used_bytes=memory_usage(root, proc_cgroup),
                     limited=cpus < machine_cpus or memory < machine_memory)


def fit_torch_threads(resources: Resources | None = None) -> int:
    """Lower torch's thread count to the CPUs this process may use (never raise it).

    torch starts one thread per physical core of the host, whatever the cgroup allows; on a
    1-CPU JupyterHub server on a 32-core host that is 16-32 threads taking turns on one core.

    Returns
    -------
    int
        torch's thread count afterwards.
    """
    import torch

    threads = (resources or allowed_resources()).threads
    if torch.get_num_threads() > threads:
        torch.set_num_threads(threads)
    return torch.get_num_threads()


class CgroupError(RuntimeError):
    """No cgroup can be made here (not root, or no writable cgroup v1/v2 memory controller)."""


class CgroupLimit:
    """A cgroup that holds the processes put in it to a memory and a CPU limit.

    What a JupyterHub spawner or a test harness uses to *enforce* "1 CPU and 2 GiB per student"
    (a process over the memory limit is killed by the kernel's OOM killer, alone). Needs root and
    cgroup v2 (``memory.max``, ``cpu.max``) or v1 (``memory.limit_in_bytes``,
    ``cpu.cfs_quota_us``); swap is limited too, so the limit is not met by swapping.

    Parameters
    ----------
    name
        The group's path under the cgroup root, e.g. ``"poselab-hub/alice"``.
    memory_bytes
        Memory limit (bytes), or None.
    cpus
        CPU limit (cores, e.g. 1.0 or 0.5), or None.
    root
        Where cgroups are mounted.
    """

    PERIOD_US = 100_000

    def __init__(self, name: str, *, memory_bytes: int | None = None, cpus: float | None = None,
                 root: str | os.PathLike = CGROUP_ROOT):
        root = Path(root)
        self.name = name.strip("/")
        self.created: list[Path] = []
        self.v2 = (root / "cgroup.controllers").exists()
        try:
            if self.v2:
                self._enable_v2_controllers(root)
                self.memory_dir = self.cpu_dir = self._make(root)
                if memory_bytes is not None:
                    (self.memory_dir / "memory.max").write_text(str(int(memory_bytes)))
                    _try_write(self.memory_dir / "memory.swap.max", "0")
                if cpus is not None:
                    (self.cpu_dir / "cpu.max").write_text(f"{int(cpus * self.PERIOD_US)} {self.PERIOD_US}")
            elif (root / "memory").is_dir():
                self.memory_dir = self._make(root / "memory")
                self.cpu_dir = self._make(root / "cpu") if (root / "cpu").is_dir() else None
                if memory_bytes is not None:
                    (self.memory_dir / "memory.limit_in_bytes").write_text(str(int(memory_bytes)))
                    # memsw = memory + swap: equal to the limit means no swap (absent without swap accounting)
                    _try_write(self.memory_dir / "memory.memsw.limit_in_bytes", str(int(memory_bytes)))
                if cpus is not None and self.cpu_dir is not None:
                    (self.cpu_dir / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
                    (self.cpu_dir / "cpu.cfs_quota_us").write_text(str(int(cpus * self.PERIOD_US)))
            else:
                raise CgroupError(f"no cgroup memory controller under {root}")
        except OSError as exc:
            self.remove()
            raise CgroupError(f"cannot make the cgroup {self.name} under {root} ({exc}): run as root "
                              "on a machine whose cgroups are writable") from exc

    def _make(self, base: Path) -> Path:
        path = base
        for part in self.name.split("/"):
            path = path / part
            if not path.is_dir():
                path.mkdir()
                self.created.append(path)
        return path

    def _enable_v2_controllers(self, root: Path) -> None:
        path = root
        for part in self.name.split("/")[:-1] + [None]:
            _try_write(path / "cgroup.subtree_control", "+memory +cpu")
            if part is None:
                break
            path = path / part
            if not path.is_dir():
                path.mkdir()
                self.created.append(path)

    @property
    def procs_files(self) -> list[Path]:
        dirs = {self.memory_dir, self.cpu_dir} - {None}
        return [d / "cgroup.procs" for d in sorted(dirs)]

    def add(self, pid: int) -> None:
        """Put a process (and the children it starts later) in the group."""
        for path in self.procs_files:
            path.write_text(str(int(pid)))

    def preexec(self) -> None:
        """Join the group: for ``subprocess.Popen(preexec_fn=...)``, in the child before it runs."""
        for path in self.procs_files:
            with open(path, "w") as f:
                f.write(str(os.getpid()))

    def peak_bytes(self) -> int | None:
        """The most memory the group has used (bytes)."""
        value = _read(self.memory_dir / ("memory.peak" if self.v2 else "memory.max_usage_in_bytes"))
        return int(value) if value else None

    def oom_kills(self) -> int:
        """Processes of the group the OOM killer has stopped."""
        text = _read(self.memory_dir / ("memory.events" if self.v2 else "memory.oom_control")) or ""
        for line in text.splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def remove(self) -> None:
        """Remove the folders this object made (processes still in them are killed first)."""
        import signal
        import time

        for path in reversed(self.created):
            for _ in range(50):
                pids = [int(p) for p in (_read(path / "cgroup.procs") or "").split()]
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    path.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)
        self.created = []


def _try_write(path: Path, text: str) -> bool:
    try:
        path.write_text(text)
        return True
    except OSError:
        return False
