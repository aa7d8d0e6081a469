"""``python -m poselab.hub``: run a JupyterHub for a poselab course (see :mod:`poselab.hub`)."""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

from poselab.hub import find_proxy, gitpuller_link, hub_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poselab.hub", description=__doc__)
    parser.add_argument("--state", default=".hub", help="folder for the hub's database, homes and proxy")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--memory", default="2G", help="memory per student (enforced), e.g. 2G")
    parser.add_argument("--cpus", type=float, default=1.0, help="CPU cores per student (enforced)")
    parser.add_argument("--password", default=None, help="the course password (default: a random one, printed)")
    parser.add_argument("--system-users", action="store_true",
                        help="run each student's server as the system user of that name")
    parser.add_argument("--course", default=None, help="git repository of the course notebooks (nbgitpuller)")
    parser.add_argument("--notebook", default="notebooks/02_label_and_train.ipynb",
                        help="the notebook the course link opens, relative to the repository")
    parser.add_argument("--lab-arg", action="append", default=[], help="an option for each student's JupyterLab")
    args = parser.parse_args(argv)
    state = Path(args.state).resolve()
    (state / "home").mkdir(parents=True, exist_ok=True)
    proxy = find_proxy(state)
    if proxy is None:
        print(f"configurable-http-proxy not found: npm install --prefix {state} configurable-http-proxy",
              file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("the hub enforces each student's limits with cgroups: run it as root", file=sys.stderr)
        return 1
    password = args.password or secrets.token_urlsafe(8)
    config = state / "jupyterhub_config.py"
    config.write_text(hub_config(state, ip=args.ip, port=args.port, memory=args.memory, cpus=args.cpus,
                                 password=password, proxy=proxy, system_users=args.system_users,
                                 lab_args=args.lab_arg))
    url = f"http://{args.ip}:{args.port}"
    print(f"poselab hub at {url}: any user name, password {password!r}; "
          f"each student {args.cpus:g} CPU and {args.memory} (enforced)", flush=True)
    if args.course:
        print("course link:", gitpuller_link(url, args.course, args.notebook), flush=True)
    return subprocess.call([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=state)


if __name__ == "__main__":
    raise SystemExit(main())
