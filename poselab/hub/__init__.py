"""A JupyterHub for a poselab course: each student's server held to 1 CPU and 2 GiB, enforced.

``python -m poselab.hub`` (or ``make hub``) writes a JupyterHub configuration and runs the hub:
students log in, get JupyterLab with poselab, and the course notebooks arrive with
`nbgitpuller <https://nbgitpuller.readthedocs.io>`_ links; `jupyter-resource-usage` shows each
student the memory in use against the limit. :class:`LimitedSpawner` puts each student's server
(and every kernel it starts) in its own cgroup (:class:`poselab.core.resources.CgroupLimit`),
so a student over the limit is stopped by the kernel's OOM killer, alone: the other students and
every label saved on disk are untouched.

Needs the ``hub`` extra (``pip install "poselab[hub]"``: jupyterhub, nbgitpuller,
jupyter-resource-usage) and ``configurable-http-proxy`` (``npm install configurable-http-proxy``).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from urllib.parse import quote

from jupyterhub.spawner import LocalProcessSpawner, SimpleLocalProcessSpawner
from traitlets import Unicode

from poselab.core.resources import CgroupError, CgroupLimit

__all__ = ["LimitedSpawner", "LimitedSystemUserSpawner", "gitpuller_link", "hub_config"]


class _Limits(LocalProcessSpawner):
    """Mixin: the server and its kernels run in a cgroup with ``mem_limit`` and ``cpu_limit``."""

    cgroup_parent = Unicode("poselab-hub", config=True, help="cgroup folder holding one group per student")
    _cgroup: CgroupLimit | None = None

    async def start(self):  # type: ignore[override]
        try:
            self._cgroup = CgroupLimit(f"{self.cgroup_parent}/{self.user.name}",
                                       memory_bytes=self.mem_limit or None, cpus=self.cpu_limit or None)
        except CgroupError as exc:  # refuse rather than run a course without the limits it promises
            self.log.error("poselab hub: %s", exc)
            raise
        return await super().start()

    def make_preexec_fn(self, name):  # type: ignore[override]
        base, group = super().make_preexec_fn(name), self._cgroup

        def preexec() -> None:
            group.preexec()  # before setuid: joining a cgroup needs root
            base()

        return preexec

    async def stop(self, now: bool = False):  # type: ignore[override]
        await super().stop(now=now)
        if self._cgroup is not None:
            self._cgroup.remove()
            self._cgroup = None


class LimitedSpawner(_Limits, SimpleLocalProcessSpawner):
    """Students' servers as the hub's own system user, homes under ``home_dir_template``
    (a local course or a test: no system accounts needed), each in its limited cgroup."""


class LimitedSystemUserSpawner(_Limits):
    """Students' servers as their own system users (as The Littlest JupyterHub does), each in its
    limited cgroup."""


def gitpuller_link(hub_url: str, repo: str, path: str, branch: str = "main") -> str:
    """The nbgitpuller link that clones (or updates) ``repo`` into the student's home and opens
    ``path`` (relative to the repository's folder) in JupyterLab."""
    folder = Path(repo.rstrip("/")).name.removesuffix(".git")
    target = f"lab/tree/{folder}/{path}"
    return (f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?repo={quote(repo, safe='')}"
            f"&branch={quote(branch)}&urlpath={quote(target, safe='')}")


def hub_config(state: Path, *, ip: str = "127.0.0.1", port: int = 8000, memory: str = "2G", cpus: float = 1.0,
               password: str, proxy: str, system_users: bool = False, lab_args: list[str] | None = None) -> str:
    """The text of a ``jupyterhub_config.py`` for a course (see ``python -m poselab.hub --help``)."""
    spawner = "LimitedSystemUserSpawner" if system_users else "LimitedSpawner"
    lab_args = list(lab_args or [])
    if not system_users:  # the servers run as the hub's user, root (it makes the cgroups)
        lab_args.append("--allow-root")
    cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
    return f"""# written by python -m poselab.hub
from poselab.hub import {spawner}
c = get_config()  # noqa: F821
c.JupyterHub.ip = {ip!r}
c.JupyterHub.port = {int(port)}
c.JupyterHub.hub_port = {int(port) + 1}
c.JupyterHub.db_url = {"sqlite:///" + str(state / "jupyterhub.sqlite")!r}
c.JupyterHub.cookie_secret_file = {str(state / "jupyterhub_cookie_secret")!r}
c.JupyterHub.pid_file = {str(state / "jupyterhub.pid")!r}
c.ConfigurableHTTPProxy.command = [{proxy!r}]
c.ConfigurableHTTPProxy.pid_file = {str(state / "proxy.pid")!r}
# A shared course password; a real course uses its institution's authenticator instead.
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = {spawner}
c.Spawner.mem_limit = {memory!r}
c.Spawner.cpu_limit = {float(cpus)}
c.Spawner.cmd = {cmd!r}
c.Spawner.default_url = "/lab"
c.Spawner.args = {lab_args!r}
c.Spawner.http_timeout = 120
c.Spawner.start_timeout = 120
c.{spawner}.home_dir_template = {str(state / "home" / "{username}")!r}
"""


def find_proxy(state: Path) -> str | None:
    """``configurable-http-proxy``: on the PATH, or installed by npm in ``state/node_modules``."""
    local = state / "node_modules" / ".bin" / "configurable-http-proxy"
    return shutil.which("configurable-http-proxy") or (str(local) if local.exists() else None)
