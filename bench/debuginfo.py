"""Debuginfo benchmark: tapkit's indexer and lookups against pahole, naive pyelftools and drgn, in one run.

    .venv/bin/python bench/debuginfo.py [--runs 5] [--slow-runs 3] [--ko PATH] [--markdown]

Every figure is the median of --runs runs (--slow-runs for naive pyelftools, which takes ~half a
minute a run). Peak memory: "rss" is the largest single process (wait4), "tree" the sampled
proportional set size (PSS) of a process and its children (tapkit may fork one indexing worker).
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


@dataclass
class Sample:
    seconds: float
    rss_mb: float  # largest single process
    tree_mb: float  # sampled sum over the process tree


def _tree_rss_kb(pid: int) -> int:
    """Proportional set size of pid and its descendants: pages a forked worker shares are counted once."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            for child in fh.read().split():
                total += _tree_rss_kb(int(child))
    except OSError:
        pass
    return total


def measure(cmd: list[str], env: dict[str, str] | None = None) -> Sample:
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return Sample(elapsed, usage.ru_maxrss / 1024, peak[0] / 1024)


def median(samples: list[Sample]) -> Sample:
    return Sample(statistics.median(s.seconds for s in samples), statistics.median(s.rss_mb for s in samples),
                  statistics.median(s.tree_mb for s in samples))


def repeat(runs: int, make: Callable[[], list[str]], env: dict[str, str], before: Callable[[], None] | None = None
           ) -> Sample:
    samples = []
    for _ in range(runs):
        if before:
            before()
        samples.append(measure(make(), env))
    return median(samples)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--slow-runs", type=int, default=3, help="runs of naive pyelftools (~30 s each)")
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

    def fresh_cache() -> None:
        shutil.rmtree(scratch / "cache", ignore_errors=True)

    def add(group: str, what: str, sample: Sample, note: str = "") -> None:
        rows.append((group, what, sample, note))
        print(f"{group:<28} {what:<34} {sample.seconds * 1000:9.1f} ms  rss {sample.rss_mb:6.1f} MB  "
              f"tree {sample.tree_mb:6.1f} MB  {note}", flush=True)

    subprocess.run([*TAPKIT, "--help"], env=env, capture_output=True, check=True)  # compile bytecode once

    # A. cold full index of openafs.ko
    cold = repeat(args.runs, lambda: [*TAPKIT, "index", ko, "--force"], env, fresh_cache)
    add("openafs.ko cold index", "tapkit index", cold, f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    cold1 = repeat(args.runs, lambda: [*TAPKIT, "index", ko, "--force", "--jobs", "1"], env, fresh_cache)
    add("openafs.ko cold index", "tapkit index --jobs 1", cold1)
    cold2 = repeat(args.runs, lambda: [*TAPKIT, "index", ko, "--force", "--jobs", "2"], env, fresh_cache)
    add("openafs.ko cold index", "tapkit index --jobs 2", cold2)
    pahole = repeat(args.runs, lambda: ["pahole", ko], env)
    add("openafs.ko cold index", "pahole (all structs)", pahole, f"tapkit/pahole {cold.seconds / pahole.seconds:.1f}x")
    naive = repeat(args.slow_runs, lambda: [PY, "-c", NAIVE_PYELFTOOLS, ko], env)
    add("openafs.ko cold index", "naive pyelftools (all DIEs)", naive,
        f"pyelftools/tapkit {naive.seconds / cold.seconds:.1f}x")

    # B. warm ptype vcache
    subprocess.run([*TAPKIT, "index", ko], env=env, capture_output=True, check=True)
    warm = repeat(args.runs, lambda: [*TAPKIT, "ptype", "vcache", "--module", ko], env)
    add("ptype vcache (warm)", "tapkit ptype", warm)
    try:
        import drgn  # noqa: F401
        drgn_sample = repeat(args.runs, lambda: [PY, "-c", DRGN_PTYPE, ko, "struct vcache"], env)
        add("ptype vcache (warm)", "drgn (load file, print type)", drgn_sample,
            f"drgn/tapkit {drgn_sample.seconds / warm.seconds:.2f}x")
    except ImportError:
        print("drgn is not installed: pip install -e '.[bench]'")
    add("ptype vcache (warm)", "pahole -C vcache", repeat(args.runs, lambda: ["pahole", "-C", "vcache", ko], env))

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
    print(f"{'in-process (warm index)':<28} lookup_type+members median {lookups:.2f} ms, p95 "
          f"{sorted(per_lookup)[int(len(per_lookup) * 0.95)]:.2f} ms over {len(per_lookup)} types; layout "
          f"{statistics.median(per_layout):.2f} ms; function() {statistics.median(per_func):.2f} ms", flush=True)

    # D. BTF of the running kernel
    btf_cold = btf_warm = None
    if os.path.exists(VMLINUX_BTF):
        btf_cold = repeat(args.runs, lambda: [*TAPKIT, "index", VMLINUX_BTF, "--force"], env, fresh_cache)
        add("vmlinux BTF", "tapkit index (cold)", btf_cold)
        subprocess.run([*TAPKIT, "index", VMLINUX_BTF], env=env, capture_output=True, check=True)
        btf_warm = repeat(args.runs, lambda: [*TAPKIT, "ptype", "task_struct", "--module", VMLINUX_BTF], env)
        add("vmlinux BTF", "tapkit ptype task_struct (warm)", btf_warm)
        add("vmlinux BTF", "pahole -F btf -C task_struct",
            repeat(args.runs, lambda: ["pahole", "-F", "btf", "-C", "task_struct", VMLINUX_BTF], env))
    shutil.rmtree(scratch, ignore_errors=True)

    if args.markdown:
        print("\n| measurement | tool | median time | peak RSS (largest process) | peak RSS (process tree) | |")
        print("|---|---|---:|---:|---:|---|")
        for group, what, s, note in rows:
            print(f"| {group} | {what} | {s.seconds * 1000:.0f} ms | {s.rss_mb:.0f} MB | {s.tree_mb:.0f} MB | {note} |")
        print(f"| in-process, warm index | lookup_type + members | {lookups:.2f} ms (median of {len(per_lookup)}) "
              f"| | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
