"""Run each notebook as a student's JupyterHub pod would: 2 GiB of memory, no swap, one core.

    .venv/bin/python benchmarks/notebook_memory.py                  # every notebooks/*.ipynb
    .venv/bin/python benchmarks/notebook_memory.py notebooks/03_analyze_videos.ipynb --limit-gib 2
    .venv/bin/python benchmarks/notebook_memory.py --demo           # and `make demo`'s job
    .venv/bin/python benchmarks/notebook_memory.py --students 2 notebooks/course_video_to_gait.ipynb

Each notebook runs with ``pytest --nbmake`` (as CI runs it, from the notebook's folder), pinned to
one core (``taskset -c 0``; OMP/MKL/OpenBLAS/numexpr threads 1) and inside a memory limit that
covers its whole process tree (pytest, the kernel, any Dask workers or other processes it starts).
The limit is enforced in the first mode that works here:

* ``cgroup-v1`` / ``cgroup-v2``: a memory cgroup made under this process's own
  (:class:`poselab.core.resources.CgroupLimit`, as ``poselab.hub`` gives each student): the limit
  on memory + swap (v1 ``memory.limit_in_bytes`` and ``memory.memsw.limit_in_bytes``; v2
  ``memory.max`` and ``memory.swap.max`` 0); the kernel's OOM killer stops what goes over.
  Needs root (or a delegated cgroup);
* ``psutil``: no writable cgroup: the process tree's private memory (the sum of each process's
  anonymous and shared-memory pages, ``RssAnon + RssShmem``: what a cgroup would have to hold
  and cannot reclaim; the libraries' file pages, which RSS counts once per process, left out)
  is sampled every 0.1 s and the tree is killed when it goes over the limit (a sample can miss
  a short spike; swap is not limited).

Columns: ``peak`` is the cgroup's own peak (v1 ``memory.max_usage_in_bytes``, v2 ``memory.peak``),
what the limit is held against: it counts page cache (files written or first read), which the
kernel reclaims before it kills anything, so a notebook that writes files can show a peak near
the limit and be safe. ``anon peak`` (sampled every 0.1 s) is the processes' own memory, page cache
left out: what must fit. In psutil mode both are the sampled private memory of the tree.
``--students N`` runs N students at once, as on one course server: each student's copy of the
notebooks in a folder of its own, each student in a cgroup of its own (the limit each), pinned
to core ``k mod cores``; the rows are per student, and the sum of their peaks is what the server
held. Prints one row per notebook and, last, ``notebook_peak_gib: <largest peak>``. Exits 1 when a
notebook fails, is killed for memory or runs past ``--timeout``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from poselab.core.resources import CGROUP_ROOT, CgroupError, CgroupLimit

REPO = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                               "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")}


def make_cgroup(name: str, limit: int) -> CgroupLimit | None:
    """A memory cgroup for one run, made under this process's own cgroup (so whatever limits and
    accounting already hold this process hold the run too); None where none can be made here."""
    v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
    own = "/"
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controllers == "") if v2 else ("memory" in controllers.split(",")):
            own = path
    try:
        return CgroupLimit(f"{own.strip('/')}/{name}".strip("/"), memory_bytes=limit)
    except CgroupError:
        return None


def anon_bytes(group: CgroupLimit) -> int:
    """The group's anonymous memory now: its processes' own data, page cache left out."""
    key = "anon" if group.v2 else "total_rss"
    for line in (group.memory_dir / "memory.stat").read_text().splitlines():
        if line.split()[0] == key:
            return int(line.split()[1])
    return 0


def process_tree(proc: psutil.Process) -> list[psutil.Process]:
    """``proc`` and all its descendants now (empty once it has gone)."""
    try:
        return [proc] + proc.children(recursive=True)
    except psutil.Error:
        return []


def private_bytes(pid: int) -> int:
    """A process's anonymous + shared-memory resident pages (bytes), from /proc/<pid>/status."""
    total = 0
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(("RssAnon:", "RssShmem:")):
                    total += int(line.split()[1]) * 1024
    except OSError:
        pass
    return total


def tree_private(proc: psutil.Process) -> int:
    """Private memory (bytes) of ``proc`` and all its descendants (see :func:`private_bytes`)."""
    return sum(private_bytes(p.pid) for p in process_tree(proc))


def tree_rss(proc: psutil.Process) -> int:
    total = 0
    for p in process_tree(proc):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def kill_tree(proc: psutil.Process) -> None:
    for p in process_tree(proc):
        try:
            p.kill()
        except psutil.Error:
            pass


def run_limited(command: list[str], limit: int, *, cwd=None, env=None, timeout: float = 900,
                mode: str = "auto", name: str = "run", log=None) -> dict:
    """Run ``command`` under a memory limit of ``limit`` bytes for its whole process tree.

    Returns ``mode``, ``returncode``, ``wall_s``, ``peak`` (bytes: the cgroup's peak, or the sampled
    private memory in psutil mode), ``anon`` (sampled: the cgroup's anonymous memory, or the tree's
    private memory),
    ``tree_rss`` (sampled; library pages counted once per process), ``oom_killed`` and ``timed_out``. Output goes to ``log`` (a file).
    """
    group = None
    if mode in ("auto", "cgroup"):
        group = make_cgroup(f"poselab-{name}-{os.getpid()}", limit)
        if group is None and mode == "cgroup":
            raise RuntimeError("no writable memory cgroup here (v1 or v2)")
    result = {"mode": ("cgroup-v2" if group.v2 else "cgroup-v1") if group else "psutil", "oom_killed": False,
              "timed_out": False}
    start = time.monotonic()
    popen = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT if log else None,
                             preexec_fn=group.preexec if group else None)
    proc, rss_peak, anon_peak = psutil.Process(popen.pid), 0, 0
    try:
        while popen.poll() is None:
            rss_peak = max(rss_peak, tree_rss(proc))
            anon_peak = max(anon_peak, anon_bytes(group) if group is not None else tree_private(proc))
            if group is None and anon_peak > limit:
                kill_tree(proc)
                result["oom_killed"] = True
            if time.monotonic() - start > timeout:
                kill_tree(proc)
                result["timed_out"] = True
            time.sleep(0.1)
        result["returncode"] = popen.wait()
        result["wall_s"] = time.monotonic() - start
        result["tree_rss"] = rss_peak
        result["peak"] = result["anon"] = anon_peak
        if group is not None:
            result["peak"] = group.peak_bytes() or 0
            result["oom_killed"] = group.oom_kills() > 0
    finally:
        kill_tree(proc)
        if group is not None:
            group.remove()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted((REPO / "notebooks").glob("*.ipynb")))
    parser.add_argument("--demo", action="store_true",
                        help="also run `make demo`'s job (python -m poselab.demo) under the same limits")
    parser.add_argument("--limit-gib", type=float, default=2.0)
    parser.add_argument("--cpu", default="0", help="taskset CPU list (default: core 0)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per notebook")
    parser.add_argument("--mode", choices=["auto", "cgroup", "psutil"], default="auto")
    parser.add_argument("--students", type=int, default=1,
                        help="run this many students at once, each with its own copy, cgroup and core")
    parser.add_argument("--logs", type=Path, default=Path(tempfile.gettempdir()) / "poselab-notebook-memory",
                        help="folder for each notebook's pytest output")
    args = parser.parse_args(argv)

    limit = int(args.limit_gib * GIB)
    env = {**os.environ, **ONE_THREAD, "PYTHONUNBUFFERED": "1"}
    args.logs.mkdir(parents=True, exist_ok=True)
    print(f"limit {args.limit_gib:g} GiB (memory + swap), cpu {args.cpu}, "
          f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}; logs in {args.logs}", flush=True)
    students = max(1, args.students)
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    student_jobs = []
    for k in range(students):
        if students == 1:
            folder, cpu, tag = None, args.cpu, ""
        else:  # a student's own copy of the notebooks (each writes its poselab-work/ beside them)
            folder = args.logs / f"student{k + 1}"
            shutil.rmtree(folder, ignore_errors=True)
            (folder / "notebooks").mkdir(parents=True)
            cpu, tag = str(cores[k % len(cores)]), f"student {k + 1}: "
        for notebook in args.notebooks:
            path = notebook.resolve()
            if folder is not None:
                path = Path(shutil.copy(path, folder / "notebooks" / path.name))
            student_jobs.append((k, cpu, f"{tag}{path.name}", f"{path.stem}{'-' + str(k + 1) if folder else ''}",
                                 [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbmake",
                                  f"--nbmake-timeout={int(args.timeout)}", str(path)]))
        if args.demo:
            out = (folder or args.logs) / "demo-output"
            student_jobs.append((k, cpu, f"{tag}make demo", f"demo{'-' + str(k + 1) if folder else ''}",
                                 [sys.executable, "-m", "poselab.demo", "--out", str(out)]))

    def run_job(index, name, stem, command, cpu):
        log_path = args.logs / f"{stem}.log"
        with open(log_path, "w") as log:
            r = run_limited(["taskset", "-c", cpu, *command], limit, cwd=REPO, env=env,
                            timeout=args.timeout + 60, mode=args.mode, name=f"{stem[:12]}-{index}", log=log)
        status = ("OOM-killed" if r["oom_killed"] else "timed out" if r["timed_out"]
                  else "passed" if r["returncode"] == 0 else f"failed ({r['returncode']})")
        print(f"  {name}: {status}, {r['wall_s']:.0f} s, peak {r['peak'] / GIB:.2f} GiB", flush=True)
        if status != "passed":
            print("".join(log_path.read_text().splitlines(keepends=True)[-30:]), flush=True)
        return (name, status, r["wall_s"], r["peak"] / GIB, r["anon"] / GIB, r["mode"])

    def run_student(k):  # a student runs their notebooks one after another
        return [run_job(i, name, stem, command, cpu)
                for i, (j, cpu, name, stem, command) in enumerate(student_jobs) if j == k]

    with ThreadPoolExecutor(max_workers=students) as pool:
        rows = [row for student_rows in pool.map(run_student, range(students)) for row in student_rows]

    print("\n| notebook | result | wall (s) | peak (GiB) | anon peak (GiB) | mode |")
    print("|---|---|---:|---:|---:|---|")
    for name, status, wall, peak, anon, mode in rows:
        print(f"| {name} | {status} | {wall:.0f} | {peak:.2f} | {anon:.2f} | {mode} |")
    if students > 1:  # rows come student by student, the same jobs in the same order
        per_job = len(rows) // students
        peaks = [[row[3] for row in rows[k * per_job:(k + 1) * per_job]] for k in range(students)]
        print(f"{students} students at once on cores {', '.join(sorted({job[1] for job in student_jobs}))}; "
              f"at most (the sum of one notebook's peaks over the students, largest): "
              f"{max(sum(job) for job in zip(*peaks)):.2f} GiB")
    print(f"load after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"notebook_peak_gib: {max(row[3] for row in rows):.2f}")
    return 1 if any(row[1] != "passed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
