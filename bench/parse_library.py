"""Parse the whole x86_64 tapset library: tapkit (cold, warm) against stap -p1 on a one-line script.

    .venv/bin/python bench/parse_library.py [--runs 5] [--jobs 2]

stap -p1 on `probe begin {}` parses the same library (every .stpm and .stp it reads for
the target), so it is the peer. Every run is a fresh process, timed from outside (that is
what a user waits for); tapkit's in-process time is printed too. cold: no cached trees
(the grammar's LALR table is loaded from its own cache, as after installation); warm: every
file's tree comes from the content-hash cache under tapkit.cache.cache_dir("parsed").
Medians of --runs runs, all in the same invocation; ratios are tapkit / stap.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _child(mode: str, jobs: int, release: str) -> None:
    from tapkit.syntax.library import parse_library
    from tapkit.target import Target

    start = time.perf_counter()
    lib = parse_library(Target(release=release, arch="x86_64"), use_cache=(mode != "cold"), jobs=jobs)
    elapsed = time.perf_counter() - start
    errors = sum(1 for _, r in lib.files if not r.ok)
    print(json.dumps({"seconds": elapsed, "scripts": len(lib.files), "macros": len(lib.macros.macros),
                      "errors": errors}))


def _timed(cmd: list[str]) -> tuple[float, str]:
    # bytecode caching on, as an installed tapkit runs (this sandbox sets PYTHONDONTWRITEBYTECODE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=False, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the parallel cold run")
    parser.add_argument("--child", choices=["cold", "warm"], help=argparse.SUPPRESS)
    parser.add_argument("--release", help=argparse.SUPPRESS)
    args = parser.parse_args()

    sys.path.insert(0, str(REPO))
    from tapkit.target import newest_installed_release

    release = args.release or newest_installed_release()
    if release is None:
        raise SystemExit("no kernel headers under /lib/modules: apt-get install linux-headers-amd64")
    if args.child:
        _child(args.child, args.jobs, release)
        return 0
    stap = shutil.which("stap")
    if stap is None:
        raise SystemExit("stap is missing: apt-get install systemtap")

    me = [sys.executable, str(Path(__file__).resolve()), "--release", release]
    _timed([*me, "--child", "warm", "--jobs", "1"])  # fills the cache (and the grammar table cache)
    cases = {
        "stap -p1": [stap, "-r", release, "-p1", "-e", "probe begin {}"],
        "tapkit cold, 1 process": [*me, "--child", "cold", "--jobs", "1"],
        f"tapkit cold, {args.jobs} processes": [*me, "--child", "cold", "--jobs", str(args.jobs)],
        "tapkit warm (cached trees)": [*me, "--child", "warm", "--jobs", "1"],
    }
    walls: dict[str, list[float]] = {k: [] for k in cases}
    inner: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(args.runs):
        for name, cmd in cases.items():  # interleaved, so load on the machine hits all alike
            wall, out = _timed(cmd)
            walls[name].append(wall)
            if name != "stap -p1":
                info = json.loads(out.strip().splitlines()[-1])
                if info["errors"]:
                    raise SystemExit(f"{name}: {info['errors']} library files did not parse")
                inner[name].append(info["seconds"])
    base = statistics.median(walls["stap -p1"])
    print(f"x86_64 tapset library for {release}; medians of {args.runs} runs (wall time of a fresh process)")
    print(f"{'':32} {'wall s':>8} {'ratio':>7} {'in-process s':>13}")
    for name in cases:
        w = statistics.median(walls[name])
        i = f"{statistics.median(inner[name]):.3f}" if inner[name] else ""
        print(f"{name:32} {w:8.3f} {w / base:6.2f}x {i:>13}")
    print("goals: cold <= 2.00x stap, warm <= 0.50x stap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
