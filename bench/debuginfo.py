"""Debuginfo benchmark: tapkit's indexer and lookups against pahole, naive pyelftools and drgn, in one run.

    .venv/bin/python bench/debuginfo.py [--runs 5] [--slow-runs 3] [--ko PATH] [--markdown]

The tools of one comparison run interleaved (tapkit, peer, tapkit, peer, ...) so they share the
machine's load; each figure is the median of --runs runs (--slow-runs for naive pyelftools, ~45 s
a run). "cpu" is user+system time of the process and its children (less sensitive to a busy
machine than wall time). Peak memory: "rss" is the largest single process (wait4), "tree" the
sampled proportional set size (PSS) of a process and its children (tapkit may fork one worker).
Child processes run with bytecode caching on (PYTHONDONTWRITEBYTECODE unset), as an installed
tapkit runs. drgn comes from the optional `bench` extra (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable
TAPKIT = [PY, "-m", "tapkit.cli"]
VMLINUX_BTF = "/sys/kernel/btf/vmlinux"

NAIVE_PYELFTOOLS = """
import sys
from elftools.elf.elffile import ELFFile
with open(sys.argv[1], "rb") as fh:
    dwarf = ELFFile(fh).get_dwarf_info()
    dies = 0
    for cu in dwarf.iter_CUs():
        for die in cu.iter_DIEs():
            die.attributes.get("DW_AT_name")
            dies += 1
print(dies)
"""

DRGN_PTYPE = """
import sys, drgn
prog = drgn.Program()
prog.extra_module(sys.argv[1], create=True).try_file(sys.argv[1], force=True)
print(prog.type(sys.argv[2]))
"""


@dataclass(frozen=True)
class Sample:
    seconds: float
    cpu: float
    rss_mb: float  # largest single process
    tree_mb: float  # sampled PSS over the process tree


@dataclass(frozen=True)
class Tool:
    name: str
    command: Callable[[], list[str]]
    before: Callable[[], None] | None = None
    runs: int | None = None  # default: --runs


def _tree_pss_kb(pid: int) -> int:
    """Proportional set size of pid and its descendants: pages a forked worker shares are counted once."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            for child in fh.read().split():
                total += _tree_pss_kb(int(child))
    except OSError:
        pass
    return total


def measure(cmd: list[str], env: dict[str, str]) -> Sample:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_pss_kb(proc.pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({code}):\n{err[-2000:]}")
    return Sample(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, peak[0] / 1024)


def median(samples: list[Sample]) -> Sample:
    return Sample(*(statistics.median(getattr(s, f) for s in samples) for f in ("seconds", "cpu", "rss_mb",
                                                                                 "tree_mb")))


def compare(tools: list[Tool], runs: int, env: dict[str, str]) -> dict[str, Sample]:
    """Run the tools round-robin, runs times each (fewer for a tool with its own runs)."""
    samples: dict[str, list[Sample]] = {t.name: [] for t in tools}
    for i in range(runs):
        for tool in tools:
            if i < (tool.runs or runs):
                if tool.before:
                    tool.before()
                samples[tool.name].append(measure(tool.command(), env))
    return {name: median(got) for name, got in samples.items()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slow-runs", type=int, default=3, help="runs of naive pyelftools (~45 s each)")
    ap.add_argument("--ko", type=Path, default=Path.home() / ".cache/tapkit/fixtures/openafs/openafs.ko")
    ap.add_argument("--markdown", action="store_true", help="print the results as a markdown table")
    args = ap.parse_args()
    ko = str(args.ko)
    if not args.ko.exists():
        raise SystemExit(f"{ko} is missing: run scripts/build-openafs-ko.sh first")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    scratch = Path(tempfile.mkdtemp(prefix="tapkit-bench-"))
    env["TAPKIT_CACHE_DIR"] = str(scratch / "cache")
    rows: list[tuple[str, str, Sample, str]] = []
    loads = [os.getloadavg()[0]]

    def fresh_cache() -> None:
        shutil.rmtree(scratch / "cache", ignore_errors=True)

    def add(group: str, what: str, sample: Sample, note: str = "") -> None:
        rows.append((group, what, sample, note))
        print(f"{group:<24} {what:<36} {sample.seconds * 1000:8.0f} ms  cpu {sample.cpu * 1000:7.0f} ms  "
              f"rss {sample.rss_mb:5.0f} MB  tree {sample.tree_mb:5.0f} MB  {note}", flush=True)

    subprocess.run([*TAPKIT, "--help"], env=env, capture_output=True, check=True)  # compile bytecode once

    # A. cold full index of openafs.ko
    got = compare([
        Tool("tapkit", lambda: [*TAPKIT, "index", ko, "--force"], fresh_cache),
        Tool("tapkit1", lambda: [*TAPKIT, "index", ko, "--force", "--jobs", "1"], fresh_cache),
        Tool("pahole", lambda: ["pahole", ko]),
        Tool("pyelftools", lambda: [PY, "-c", NAIVE_PYELFTOOLS, ko], runs=args.slow_runs),
    ], args.runs, env)
    loads.append(os.getloadavg()[0])
    tapkit = got["tapkit"]
    add("openafs.ko cold index", "tapkit index (2 processes)", tapkit)
    add("openafs.ko cold index", "tapkit index --jobs 1", got["tapkit1"])
    add("openafs.ko cold index", "pahole (all structs)", got["pahole"],
        f"tapkit/pahole {tapkit.seconds / got['pahole'].seconds:.1f}x")
    add("openafs.ko cold index", "naive pyelftools (every DIE)", got["pyelftools"],
        f"pyelftools/tapkit {got['pyelftools'].seconds / tapkit.seconds:.1f}x")

    # B. warm ptype vcache
    subprocess.run([*TAPKIT, "index", ko], env=env, capture_output=True, check=True)
    tools = [Tool("tapkit", lambda: [*TAPKIT, "ptype", "vcache", "--module", ko]),
             Tool("pahole", lambda: ["pahole", "-C", "vcache", ko])]
    try:
        import drgn  # noqa: F401

        tools.insert(1, Tool("drgn", lambda: [PY, "-c", DRGN_PTYPE, ko, "struct vcache"]))
    except ImportError:
        print("drgn is not installed: pip install -e '.[bench]'")
    got = compare(tools, args.runs * 2, env)
    loads.append(os.getloadavg()[0])
    add("ptype vcache (warm)", "tapkit ptype", got["tapkit"])
    if "drgn" in got:
        add("ptype vcache (warm)", "drgn (load file, print type)", got["drgn"],
            f"drgn/tapkit {got['drgn'].seconds / got['tapkit'].seconds:.2f}x")
    add("ptype vcache (warm)", "pahole -C vcache", got["pahole"])

    # C. in-process lookups from a warm index
    os.environ["TAPKIT_CACHE_DIR"] = env["TAPKIT_CACHE_DIR"]
    sys.path.insert(0, str(REPO))
    from tapkit.debuginfo import open_debuginfo
    from tapkit.debuginfo.index import Debuginfo
    from tapkit.debuginfo.layout import format_layout, struct_layout

    opened = open_debuginfo(ko)
    names = [t.spelled for t in opened.type_names() if t.kind in ("struct", "union")][::7][:200]
    per_lookup, per_layout, per_func = [], [], []
    for name in names:
        fresh = Debuginfo(opened.db_path, opened.file, opened.module)  # nothing cached in memory
        t0 = time.perf_counter()
        t = fresh.lookup_type(name)
        fresh.members(t.id)
        t1 = time.perf_counter()
        format_layout(struct_layout(fresh, t.id))
        t2 = time.perf_counter()
        per_lookup.append((t1 - t0) * 1000)
        per_layout.append((t2 - t1) * 1000)
        fresh.close()
    for fn in opened.function_names("afs_")[:200]:
        t0 = time.perf_counter()
        opened.function(fn)
        per_func.append((time.perf_counter() - t0) * 1000)
    lookups = statistics.median(per_lookup)
    p95 = sorted(per_lookup)[int(len(per_lookup) * 0.95)]
    print(f"{'in-process, warm index':<24} lookup_type+members median {lookups:.2f} ms, p95 {p95:.2f} ms over "
          f"{len(per_lookup)} types; layout {statistics.median(per_layout):.2f} ms; function() "
          f"{statistics.median(per_func):.2f} ms", flush=True)

    # D. BTF of the running kernel
    if os.path.exists(VMLINUX_BTF):
        got = compare([Tool("cold", lambda: [*TAPKIT, "index", VMLINUX_BTF, "--force"], fresh_cache)], args.runs, env)
        add("vmlinux BTF", "tapkit index (cold)", got["cold"])
        subprocess.run([*TAPKIT, "index", VMLINUX_BTF], env=env, capture_output=True, check=True)
        got = compare([Tool("tapkit", lambda: [*TAPKIT, "ptype", "task_struct", "--module", VMLINUX_BTF]),
                       Tool("pahole", lambda: ["pahole", "-F", "btf", "-C", "task_struct", VMLINUX_BTF])],
                      args.runs, env)
        add("vmlinux BTF", "tapkit ptype task_struct (warm)", got["tapkit"])
        add("vmlinux BTF", "pahole -F btf -C task_struct", got["pahole"])
    loads.append(os.getloadavg()[0])
    shutil.rmtree(scratch, ignore_errors=True)
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in loads)} on {os.cpu_count()} CPUs")

    if args.markdown:
        print("\n| measurement | tool | median wall | median cpu | peak RSS (largest process) | peak PSS (tree) | |")
        print("|---|---|---:|---:|---:|---:|---|")
        for group, what, s, note in rows:
            print(f"| {group} | {what} | {s.seconds * 1000:.0f} ms | {s.cpu * 1000:.0f} ms | {s.rss_mb:.0f} MB "
                  f"| {s.tree_mb:.0f} MB | {note} |")
        print(f"| in-process, warm index | lookup_type + members | {lookups:.2f} ms median, {p95:.2f} ms p95 "
              f"| | | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
