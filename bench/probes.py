"""Per-hit cost of live user-space probes: tapkit's engine vs bpftrace uprobes vs `stap --runtime=bpf`.

    .venv/bin/python bench/probes.py [--runs 5] [--small 10000] [--large 60000]

The same binary (a loop calling a noinline function; gcc -O2, PIE) runs under each tool with a probe
that counts entries (and, second, entries and returns). "tapkit (ptrace)" is the live engine with a
Python callback; "tapkit run -c" the whole command with a compiled script (`n++` per hit, under the
session's per-probe protocol). A tool's per-hit cost is the slope between a
small and a large run, (T(large) - T(small)) / (large - small) calls, so that startup (attaching,
compiling, loading BPF) cancels out; each run's wall time is measured around the whole command and
the medians of --runs runs are compared. Every run's hit count is checked.

Peers: Debian's bpftrace (uprobe/uretprobe through perf_event_open) and Debian's stap 4.8 with
--runtime=bpf (stapbpf; it needs the LD_PRELOAD setrlimit shim of tests/runtime/stapbpf.py and
tracefs/debugfs mounted for its uprobe_events interface: as root this script mounts them when
missing). stap's BPF backend refuses process .return probes here ("process return probes not
available [man error::inode-uprobes]"), so it has no entry+return row.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TARGET_C = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long target(long i) { asm volatile("" ::: "memory"); return i * 3; }
int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 10, s = 0;
    for (long i = 0; i < n; i++)
        s += target(i);
    printf("%ld\n", s);
    return 0;
}
"""


def build_target() -> Path:
    from tapkit.cache import cache_dir

    out = cache_dir("fixtures") / "bench" / "probe_target"
    src = out.with_suffix(".c")
    if not out.exists() or not src.exists() or src.read_text() != TARGET_C:
        out.parent.mkdir(parents=True, exist_ok=True)
        src.write_text(TARGET_C)
        subprocess.run(["gcc", "-g", "-O2", "-o", str(out), str(src)], check=True)
    return out


# ---- one run of each tool: (wall seconds, hits it reported) ----


def run_tapkit(binary: Path, calls: int, returns: bool) -> tuple[float, int]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--tapkit-child", str(binary), str(calls)]
    if returns:
        cmd.append("--returns")
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - start
    return wall, int(re.search(r"hits (\d+)", proc.stdout).group(1))  # type: ignore[union-attr]


def tapkit_child(binary: str, calls: int, returns: bool) -> None:
    from tapkit.runtime.live import LiveEngine

    engine = LiveEngine()
    hits = 0

    def hit(ctx: object) -> None:
        nonlocal hits
        hits += 1

    engine.add_function(binary, "target", hit)
    if returns:
        engine.add_function(binary, "target", hit, kind="return")
    engine.run([binary, str(calls)])
    print(f"hits {hits}", flush=True)


def run_tapkit_cli(binary: Path, calls: int, returns: bool) -> tuple[float, int]:
    """The whole `tapkit run -c`: pass 1-2, the compiled handler under the session's protocol per hit."""
    with tempfile.TemporaryDirectory(prefix="tapkit-bench-") as tmp:
        script = Path(tmp) / "count.stp"
        text = f'global n\nprobe process("{binary}").function("target") {{ n++ }}\n'
        if returns:
            text += f'probe process("{binary}").function("target").return {{ n++ }}\n'
        script.write_text(text + 'probe end { printf("hits %d\\n", n) }\n')
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "tapkit.cli", "run", "-c", f"{binary} {calls}", str(script)],
                              capture_output=True, text=True, check=True, cwd=REPO)
        wall = time.perf_counter() - start
    return wall, int(re.search(r"hits (\d+)", proc.stdout).group(1))  # type: ignore[union-attr]


def run_bpftrace(binary: Path, calls: int, returns: bool) -> tuple[float, int]:
    program = f"uprobe:{binary}:target {{ @n = count(); }}"
    if returns:
        program += f" uretprobe:{binary}:target {{ @n = count(); }}"
    start = time.perf_counter()
    proc = subprocess.run(["bpftrace", "-e", program, "-c", f"{binary} {calls}"], capture_output=True, text=True)
    wall = time.perf_counter() - start
    m = re.search(r"@n: (\d+)", proc.stdout)
    if m is None:
        raise RuntimeError(f"bpftrace failed:\n{proc.stdout}\n{proc.stderr}")
    return wall, int(m.group(1))


class Stapbpf:
    def __init__(self, binary: Path) -> None:
        from tests.runtime.stapbpf import shim_path
        from tests.tooling import stap_release

        self.shim = shim_path()
        self.dir = Path(tempfile.mkdtemp(prefix="tapkit-bench-"))
        script = self.dir / "count.stp"
        script.write_text(f'global n\nprobe process("{binary}").function("target") {{ n++ }}\n'
                          'probe end { printf("hits %d\\n", n) }\n')
        proc = subprocess.run(["stap", "--runtime=bpf", "-r", stap_release(), "-p4", "-m", "count", str(script)],
                              cwd=self.dir, capture_output=True, text=True)
        self.object = self.dir / "count.bo"
        if not self.object.exists():
            raise RuntimeError(f"stap --runtime=bpf -p4 failed:\n{proc.stderr}")

    def run(self, binary: Path, calls: int, returns: bool) -> tuple[float, int]:
        env = dict(os.environ, LD_PRELOAD=str(self.shim))
        start = time.perf_counter()
        proc = subprocess.run(["stapbpf", "-c", f"{binary} {calls}", str(self.object)], capture_output=True,
                              text=True, env=env)
        wall = time.perf_counter() - start
        m = re.search(r"hits (\d+)", proc.stdout)
        if m is None:
            raise RuntimeError(f"stapbpf failed:\n{proc.stdout}\n{proc.stderr}")
        return wall, int(m.group(1))


def ensure_tracefs() -> str | None:
    """stapbpf writes /sys/kernel/debug/tracing/uprobe_events; None when it is there (mounted if missing)."""
    if Path("/sys/kernel/debug/tracing/uprobe_events").exists():
        return None
    if os.geteuid() != 0:
        return "debugfs/tracefs is not mounted and this is not root"
    for fs, where in (("debugfs", "/sys/kernel/debug"), ("tracefs", "/sys/kernel/tracing")):
        subprocess.run(["mount", "-t", fs, "nodev", where], capture_output=True)
    return None if Path("/sys/kernel/debug/tracing/uprobe_events").exists() else "cannot mount tracefs"


def run_plain(binary: Path, calls: int, returns: bool) -> tuple[float, int]:
    start = time.perf_counter()
    subprocess.run([str(binary), str(calls)], capture_output=True, check=True)
    return time.perf_counter() - start, calls


def slope(tool: Callable[[Path, int, bool], tuple[float, int]], binary: Path, small: int, large: int, runs: int,
          returns: bool) -> float:
    """Median seconds per call (entry, or entry and return) between the small and the large run."""
    per_call = []
    expect = 2 if returns else 1
    for _ in range(runs):
        t_small, h_small = tool(binary, small, returns)
        t_large, h_large = tool(binary, large, returns)
        if tool is not run_plain and (h_small != expect * small or h_large != expect * large):
            raise RuntimeError(f"{tool.__name__}: counted {h_small}/{h_large} hits for {small}/{large} calls")
        per_call.append((t_large - t_small) / (large - small))
    return statistics.median(per_call)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--small", type=int, default=10000)
    parser.add_argument("--large", type=int, default=60000)
    parser.add_argument("--tapkit-child", nargs=2, metavar=("BINARY", "CALLS"), help=argparse.SUPPRESS)
    parser.add_argument("--returns", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tapkit_child:
        tapkit_child(args.tapkit_child[0], int(args.tapkit_child[1]), args.returns)
        return 0
    binary = build_target()
    tools: dict[str, Callable[[Path, int, bool], tuple[float, int]] | str] = {"tapkit (ptrace)": run_tapkit,
                                                                               "tapkit run -c": run_tapkit_cli}
    tools["bpftrace uprobes"] = run_bpftrace if shutil.which("bpftrace") else "bpftrace is not installed"
    problem = ensure_tracefs() if shutil.which("stapbpf") else "stapbpf is not installed"
    if problem is None:
        try:
            tools["stap --runtime=bpf"] = Stapbpf(binary).run
        except (RuntimeError, OSError) as exc:
            tools["stap --runtime=bpf"] = str(exc).splitlines()[0]
    else:
        tools["stap --runtime=bpf"] = problem
    print(f"binary {binary}; calls {args.small} and {args.large}; median of {args.runs} runs; "
          f"load {os.getloadavg()[0]:.2f}")
    base = slope(run_plain, binary, args.small, args.large, args.runs, False)
    results: dict[tuple[str, bool], float] = {}
    for returns in (False, True):
        label = "entry+return" if returns else "entry"
        for name, tool in tools.items():
            if isinstance(tool, str):
                print(f"{label:13} {name:20} unavailable: {tool}")
                continue
            if returns and name.startswith("stap"):
                print(f"{label:13} {name:20} unavailable: process return probes not available "
                      "[man error::inode-uprobes]")
                continue
            cost = slope(tool, binary, args.small, args.large, args.runs, returns) - base
            results[(name, returns)] = cost
            print(f"{label:13} {name:20} {cost * 1e6:7.2f} us per call", flush=True)
        ours = results.get(("tapkit (ptrace)", returns))
        for name in tools:
            theirs = results.get((name, returns))
            if ours and theirs and not name.startswith("tapkit"):
                print(f"{label:13} tapkit / {name}: {ours / theirs:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
