"""The CPUs and memory this process may use: cgroup limits, not the host's counts.

On a JupyterHub (The Littlest JupyterHub, Zero to JupyterHub on Kubernetes) or in a container, a
student's server is limited to, say, 1 CPU and 2 GiB by cgroups, while ``os.cpu_count()`` and
torch's default thread count still see every core of the host: 32 torch threads sharing one
core run several times slower than one. :func:`allowed_resources` reads the limits (cgroup v2
and v1, the CPU affinity mask) and :func:`fit_torch_threads` keeps torch's thread count within
them; training and video analysis call it before they start.

Memory is the other limit: a training step or an analysis batch that does not fit is stopped by
the kernel's OOM killer, which takes the whole notebook kernel with it. :func:`memory_free` says
how much this process may still take (the cgroup's limit minus what its group uses, or the
machine's available memory), and :func:`fit_batch_to_memory` lowers a batch size to fit it, with
one warning, or raises :class:`~poselab.core.errors.ResourceError` with what to do when not even
the smallest batch fits. :func:`release_freed_memory` hands memory that Python has freed back to
the kernel (glibc keeps it otherwise), after training and after each video analysis.
"""

from __future__ import annotations

import ctypes
import gc
import math
import os
import platform
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from poselab.core.errors import ResourceError

__all__ = ["BatchRequest", "BatchSizeWarning", "CgroupError", "CgroupLimit", "ResourceError", "Resources",
           "StepMemory", "allowed_resources", "cpu_limit", "fit_batch_size", "fit_batch_to_memory", "fit_torch_threads",
           "memory_available", "memory_free", "memory_limit", "memory_reclaimable", "memory_usage",
           "release_freed_memory", "step_memory"]

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
        Memory in use in the cgroup now (bytes; None where no cgroup tells), page cache included.
    limited : bool
        True where a cgroup limits the CPUs or the memory below the machine's.
    memory_reclaimable_bytes : int
        Of ``memory_used_bytes``, the page cache the kernel drops before it kills anything
        (bytes; the cgroup's ``inactive_file``, 0 where unknown).
    """

    cpus: float
    threads: int
    memory_bytes: int
    memory_used_bytes: int | None
    limited: bool
    memory_reclaimable_bytes: int = 0

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


def memory_reclaimable(root: str | os.PathLike = CGROUP_ROOT,
                       proc_cgroup: str | os.PathLike = "/proc/self/cgroup") -> int:
    """Page cache in this process's own cgroup that the kernel reclaims before an OOM kill (bytes).

    ``memory.current`` (v2) and ``memory.usage_in_bytes`` (v1) count the page cache of files read,
    a video say, which the kernel drops when the group nears its limit: its ``inactive_file``
    (``memory.stat``; v1: ``total_inactive_file``, the group and its children) is free in effect.
    0 where no cgroup tells.
    """
    v2, v1 = _own_groups(Path(root), Path(proc_cgroup))
    for path, key in ([(g / "memory.stat", "inactive_file") for g in v2[:1]]
                      + [(g / "memory.stat", "total_inactive_file") for g in v1.get("memory", [])[:1]]):
        for line in (_read(path) or "").splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    return 0


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
                     limited=cpus < machine_cpus or memory < machine_memory,
                     memory_reclaimable_bytes=memory_reclaimable(root, proc_cgroup))


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


GIB = 2**30


def memory_available(meminfo: str | os.PathLike = "/proc/meminfo") -> int | None:
    """The machine's available memory (bytes): Linux's ``MemAvailable``, None where unknown.

    Free memory plus the page cache and buffers the kernel can drop (``/proc/meminfo``).
    """
    for line in (_read(Path(meminfo)) or "").splitlines():
        name, _, value = line.partition(":")
        if name == "MemAvailable":
            fields = value.split()  # "22886440 kB"
            return int(fields[0]) * (1024 if fields[1:] == ["kB"] else 1)
    return None


def _cgroup_limits_memory(res: Resources) -> bool:
    """Whether a cgroup holds this process below the machine's memory (and tells what it uses)."""
    return res.memory_used_bytes is not None and res.memory_bytes < _machine_memory()


def memory_free(resources: Resources | None = None, meminfo: str | os.PathLike = "/proc/meminfo") -> int:
    """Memory this process may still take before it hits a limit (bytes).

    Under a cgroup memory limit: the limit minus what the group uses, its reclaimable page cache
    not counted, and no more than the machine has available. Without one: the machine's
    available memory (``MemAvailable``). Where neither is known (macOS, Windows): the machine's
    RAM less what the cgroup (if any) uses, i.e. no lowering of batch sizes.

    Parameters
    ----------
    resources
        What this process may use (default: :func:`allowed_resources`).
    meminfo
        The machine's memory counters (Linux).

    Returns
    -------
    int
        Bytes, at least 0.
    """
    res = resources if resources is not None else allowed_resources()
    available = memory_available(meminfo)
    if _cgroup_limits_memory(res):
        free = res.memory_bytes - res.memory_used_bytes + res.memory_reclaimable_bytes
        if available is not None:  # a crowded host may have less than the group's headroom
            free = min(free, available)
    elif available is not None:
        free = available
    else:
        free = res.memory_bytes - (res.memory_used_bytes or 0)
    return max(0, int(free))


def fit_batch_size(requested: int, bytes_per_item: float, fixed_bytes: float, free_bytes: float,
                   minimum: int = 1) -> int:
    """The largest batch size, at most ``requested``, whose memory fits in ``free_bytes``.

    A step of batch size ``b`` needs ``fixed_bytes + b * bytes_per_item``.

    Parameters
    ----------
    requested
        The batch size asked for (images or frames).
    bytes_per_item
        Memory each item of the batch adds (bytes).
    fixed_bytes
        Memory the step needs whatever the batch size (bytes).
    free_bytes
        Memory free for the step (bytes, e.g. :func:`memory_free`).
    minimum
        The smallest batch size the step can use (training: 2, for batch normalisation).

    Returns
    -------
    int
        ``requested`` when it fits; else the largest size in ``[minimum, requested)`` that fits;
        0 when not even ``minimum`` (or ``requested``, if smaller) fits.
    """
    requested = int(requested)
    if fixed_bytes + requested * bytes_per_item <= free_bytes:
        return requested
    if bytes_per_item <= 0:
        return 0
    largest = math.floor((free_bytes - fixed_bytes) / bytes_per_item)
    smallest = min(int(minimum), requested)
    return largest if largest >= smallest else 0


@dataclass(frozen=True)
class StepMemory:
    """What one step (a training step, an analysis batch) needs: ``fixed + batch * pixels * per pixel``.

    Attributes
    ----------
    bytes_per_pixel : float
        Bytes per network-input pixel of each image in the batch (measured, with a margin).
    fixed_bytes : float
        Bytes the step needs whatever its batch (gradients, optimizer state, buffers).
    """

    bytes_per_pixel: float
    fixed_bytes: float

    def per_item(self, pixels: float) -> float:
        """Bytes one image of ``pixels`` network-input pixels adds to the step."""
        return self.bytes_per_pixel * pixels


def step_memory(table: dict[str, StepMemory], backbone: str | None) -> StepMemory:
    """A backbone's measured :class:`StepMemory` from ``table``; for a backbone not measured, the
    entry with the most bytes per pixel (a generous guess)."""
    memory = table.get(backbone) if backbone is not None else None
    return memory if memory is not None else max(table.values(), key=lambda m: m.bytes_per_pixel)


class BatchSizeWarning(UserWarning):
    """A batch size was lowered to fit the memory this process may use."""


def _gib(n: float) -> str:
    return f"{n / GIB:.2f} GiB"


def _where(res: Resources, free: float) -> str:
    """'0.90 GiB is free on this server (2.00 GiB limit, 1.10 GiB in use)', or the machine's."""
    if _cgroup_limits_memory(res):
        return (f"{_gib(free)} is free on this server ({_gib(res.memory_bytes)} limit, "
                f"{_gib(res.memory_used_bytes - res.memory_reclaimable_bytes)} in use)")
    return f"{_gib(free)} is available on this machine ({_gib(res.memory_bytes)} in all)"


@dataclass(frozen=True)
class BatchRequest:
    """The batch size a step asks for, and what :func:`fit_batch_to_memory` says about it.

    Attributes
    ----------
    requested : int
        The configured batch size (images or frames).
    minimum : int
        The smallest batch size the step can use (training: 2, for batch normalisation).
    extra_bytes : float
        More bytes the step needs whatever its batch size (e.g. the stacked training images).
    step : str
        What runs, for the messages (``"training"``, ``"video analysis"``).
    advice : str
        What else lowers the memory of this step, for the error (e.g. "a smaller input_size").
    """

    requested: int
    minimum: int = 1
    extra_bytes: float = 0.0
    step: str = "training"
    advice: str = ""


def fit_batch_to_memory(request: BatchRequest, memory: StepMemory, pixels: float, *,
                        resources: Resources | None = None, stacklevel: int = 1) -> int:
    """The batch size to use: the one requested, or lower (one :class:`BatchSizeWarning`) to fit memory.

    Parameters
    ----------
    request
        The batch size asked for, the smallest usable and the messages' words (:class:`BatchRequest`).
    memory
        What the step needs per input pixel and fixed (:class:`StepMemory`).
    pixels
        Network-input pixels of one item (e.g. 256 * 256 for a 256 px training crop).
    resources
        What this process may use and what is in use (default: :func:`allowed_resources`); the
        memory free for the step is :func:`memory_free` of it.
    stacklevel
        Whose line the warning names, as :func:`warnings.warn`'s would if the caller warned
        itself: 1 the caller's, 2 the caller's caller...

    Returns
    -------
    int
        The batch size that fits (between ``request.minimum`` and ``request.requested``).

    Raises
    ------
    ResourceError
        When not even the minimum fits: says what it needs, what is allowed and in use, and what
        to do.
    """
    res = resources if resources is not None else allowed_resources()
    free = memory_free(res)
    requested, step = int(request.requested), request.step
    per_item, fixed = memory.per_item(pixels), memory.fixed_bytes + request.extra_bytes
    batch = fit_batch_size(requested, per_item, fixed, free, request.minimum)
    if batch == requested:
        return batch

    def need(b: int) -> str:
        return _gib(fixed + b * per_item)

    if batch == 0:
        smallest = min(int(request.minimum), requested)
        raise ResourceError(
            f"{step} needs about {need(smallest)} with batch_size {smallest}, the smallest it can use "
            f"(batch_size {requested} would need {need(requested)}), but {_where(res, free)}. "
            "Free memory by shutting down the kernels of other notebooks (JupyterLab: Kernel > "
            "Shut Down All Kernels, or the Running panel)"
            + (f", use {request.advice}" if request.advice else "")
            + ", or run on a machine with more memory.")
    warnings.warn(f"batch_size {requested} needs about {need(requested)}; {_where(res, free)}: "
                  f"{step} with batch_size {batch} (needs about {need(batch)})", BatchSizeWarning,
                  stacklevel=stacklevel + 1)
    return batch


def _glibc_malloc_trim():
    """glibc's ``malloc_trim``, or None (macOS, Windows, musl: no such call, or another libc)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


def release_freed_memory() -> bool:
    """Hand memory that Python and torch have freed back to the kernel (glibc only).

    glibc keeps freed memory for later allocations rather than returning it, so after training a
    process holds about 0.45 GB it no longer uses (0.35 GB after a video analysis), which a
    cgroup counts against its limit. ``malloc_trim(0)`` returns the free pages, after a
    ``gc.collect()`` has freed what only reference cycles held.

    Returns
    -------
    bool
        Whether ``malloc_trim`` ran (False on macOS, Windows and musl, where it does nothing).
    """
    gc.collect()
    trim = _glibc_malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True


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
