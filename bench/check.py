"""Pass 2 benchmark: `tapkit check` against `stap -p2` on the same scripts, in one run.

    .venv/bin/python bench/check.py [--runs 5] [--cold-runs 3] [--ko PATH] [--markdown]

Scenarios (each script is judged the same way by both tools; the table says how):
  begin     a begin probe calling two tapset functions (the smallest useful script)
  syscalls  three syscall aliases with their locals (nd_syscall / tp_syscall expansion)
  syscall.* every syscall alias (the whole syscall tapset, ~450 tracepoint probes)
  process   process("…").function("walk") with `$p->x` on a gcc -g binary
  openafs   module("openafs") with member chains and an @cast into the real openafs.ko
            (stap: the module installed under /lib/modules/REL/extra by scripts/stap-offline;
            tapkit: --debuginfo KO)

tapkit "warm" runs with the cache a previous run left (library index, parse cache, debuginfo
index); "cold" with TAPKIT_CACHE_DIR pointing at a fresh empty directory, so everything is
built from the sources. Runs interleave (stap, warm, cold, stap, …) so they share the
machine's load; figures are medians over fresh processes of wall time and of CPU time
(user+system of the process and its children, less sensitive to a busy machine). tapkit runs
with Python's bytecode cache on, as an installed tapkit does.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable

C_SOURCE = """\
struct point { int x; int y; struct point *next; };
int walk(struct point *p, int depth) { int sum = 0; while (p) { sum += p->x; p = p->next; } return sum + depth; }
int main(void) { struct point a = {1, 2, 0}; return walk(&a, 3); }
"""

SCRIPTS = {
    "begin": 'probe begin { printf("%d %s\\n", pid(), execname()) }\n',
    "syscalls": ('probe syscall.openat, syscall.read, syscall.write {\n'
                 '  printf("%s %s(%s)\\n", execname(), name, argstr)\n}\n'),
    "syscall.*": 'probe syscall.* { printf("%s(%s)\\n", name, argstr) }\n',
    "process": ('probe process("@BIN@").function("walk") {\n'
                '  printf("%d %d\\n", $p->x, $depth)\n}\n'),
    "openafs": ('probe module("openafs").function("afs_PutDCache") {\n'
                '  printf("%d %d\\n", $adc->f->fid->Fid->Volume, $adc->refCount)\n'
                '  println(@cast($adc, "dcache", "kernel:openafs")->mflock->excl_locked)\n}\n'),
}


@dataclass(frozen=True)
class Result:
    rc: int
    seconds: float  # wall
    cpu: float  # user+system of the process and its children


def run(cmd: list[str], env: dict[str, str] | None = None) -> Result:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Result(proc.returncode, wall, cpu)


def release() -> str:
    sys.path.insert(0, str(REPO))
    from tapkit.target import newest_installed_release

    rel = newest_installed_release()
    if rel is None:
        sys.exit("no kernel headers under /lib/modules")
    return rel


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="stap and warm tapkit runs per scenario")
    ap.add_argument("--cold-runs", type=int, default=3, help="cold tapkit runs per scenario")
    ap.add_argument("--ko", default=str(Path.home() / ".cache/tapkit/fixtures/openafs/openafs.ko"))
    ap.add_argument("--only", action="append", default=[], help="scenario names to run (default: all)")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    rel = release()
    work = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        (work / "prog.c").write_text(C_SOURCE)
        subprocess.run(["gcc", "-g", "-O0", "-o", str(work / "prog"), str(work / "prog.c")], check=True)
        ko = Path(args.ko)
        names = args.only or list(SCRIPTS)
        if "openafs" in names:
            if not ko.is_file():
                print(f"no {ko}: skipping openafs (build it with scripts/build-openafs-ko.sh)", file=sys.stderr)
                names.remove("openafs")
            else:  # install it once, outside the timed runs
                subprocess.run([str(REPO / "scripts/stap-offline"), "--module", str(ko), "-p1", "-e",
                                "probe begin {}"], capture_output=True, check=False)
        rows = []
        for name in names:
            script = work / f"{name.replace('*', 'all').replace('.', '_')}.stp"
            script.write_text(SCRIPTS[name].replace("@BIN@", str(work / "prog")))
            stap = ["stap", "-r", rel, "-p2", str(script)]
            tapkit = [PY, "-m", "tapkit.cli", "check", "-r", rel, str(script)]
            if name == "openafs":
                tapkit += ["--debuginfo", str(ko)]
            # bytecode caching on, as an installed tapkit runs (this sandbox sets PYTHONDONTWRITEBYTECODE)
            base_env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            prime = run(tapkit, base_env)  # the warm cache
            verdicts = {"stap": run(stap).rc, "tapkit": prime.rc}
            times: dict[str, list[Result]] = {"stap": [], "warm": [], "cold": []}
            for i in range(max(args.runs, args.cold_runs)):
                if i < args.runs:
                    times["stap"].append(run(stap))
                    times["warm"].append(run(tapkit, base_env))
                if i < args.cold_runs:
                    cold_dir = work / f"cold-{name.replace('*', 'all')}-{i}"
                    env = dict(base_env, TAPKIT_CACHE_DIR=str(cold_dir))
                    times["cold"].append(run(tapkit, env))
                    shutil.rmtree(cold_dir, ignore_errors=True)
            wall = {k: statistics.median(r.seconds for r in v) for k, v in times.items()}
            cpu = {k: statistics.median(r.cpu for r in v) for k, v in times.items()}
            rows.append((name, verdicts, wall, cpu))
            print(f"{name}: stap rc {verdicts['stap']} {wall['stap']:.3f}s (cpu {cpu['stap']:.3f}), "
                  f"tapkit rc {verdicts['tapkit']} warm {wall['warm']:.3f}s (cpu {cpu['warm']:.3f}), "
                  f"cold {wall['cold']:.3f}s (cpu {cpu['cold']:.3f})", file=sys.stderr)
        if args.markdown:
            print("| script | verdict stap / tapkit | `stap -p2` wall (cpu) s | tapkit warm wall (cpu) s | "
                  "warm/stap wall (cpu) | tapkit cold wall (cpu) s | cold/stap wall |")
            print("|---|---|---:|---:|---:|---:|---:|")
            for name, v, wall, cpu in rows:
                verdict = " / ".join("accept" if v[k] == 0 else "reject" for k in ("stap", "tapkit"))
                print(f"| {name} | {verdict} | {wall['stap']:.3f} ({cpu['stap']:.3f}) | "
                      f"{wall['warm']:.3f} ({cpu['warm']:.3f}) | {wall['warm'] / wall['stap']:.2f}× "
                      f"({cpu['warm'] / cpu['stap']:.2f}×) | {wall['cold']:.2f} ({cpu['cold']:.2f}) | "
                      f"{wall['cold'] / wall['stap']:.1f}× |")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
