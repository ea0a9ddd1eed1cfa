"""examples/seed/*.stp run live with `tapkit run -c` on afsim: the shapes the seed talk shows, and its numbers
where they are deterministic (afsim's arguments fix every count and return value)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.seed.conftest import SEED, tapkit

FRAME = re.compile(r"^ 0x[0-9a-f]+ : (\w+)\+0x[0-9a-f]+/0x[0-9a-f]+ \[(.+)\]$")
CHAIN = ["write_cache_pages", "do_writepages", "__filemap_fdatawrite_range", "wait_on_page_writeback_range",
         "filemap_write_and_wait_range", "vfs_fsync_range", "vfs_fsync", "sys_msync"]


def run(afsim_dir: Path, name: str, command: str, *flags: str) -> list[str]:
    """tapkit's output lines, then afsim's own summary line (the two processes share the pipe, so where
    afsim's line falls among tapkit's is up to the scheduler)."""
    proc = tapkit("run", *flags, "-c", command, str(SEED / name), cwd=afsim_dir)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    summary = [line for line in lines if line.startswith("afsim: ")]
    assert len(summary) == 1, proc.stdout
    return [line for line in lines if not line.startswith("afsim: ")] + summary


def histogram(lines: list[str], function: str) -> dict[str, int]:
    """The rows of `Func F::value |--- count` up to the blank line after it: bucket -> count."""
    start = lines.index(next(line for line in lines if line.startswith(f"Func {function}::value |")))
    rows: dict[str, int] = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        bucket, _, rest = line.partition("|")
        rows[bucket.strip()] = int(rest.split()[-1])
    return rows


def test_step1_call_counts_and_return_histograms(afsim_dir: Path) -> None:
    lines = run(afsim_dir, "cs1-step1-counts.stp", "./afsim 20 4 3")
    assert lines[0] == "Started probe"
    counts = {m.group(1): int(m.group(2)) for m in (re.fullmatch(r"Function Called (\w+) : Count (\d+)", line)
                                                    for line in lines) if m}
    assert counts == {"main": 1, "sys_msync": 20, "vfs_fsync": 20, "vfs_fsync_range": 20,
                      "filemap_write_and_wait_range": 20, "__filemap_fdatawrite_range": 20, "do_writepages": 20,
                      "write_cache_pages": 20, "afs_linux_writepage": 20, "wait_on_page_writeback_range": 20,
                      "afs_GetDCache": 23, "afs_PutDCache": 23, "ObtainReadLock": 23, "ReleaseReadLock": 23,
                      "afs_linux_readdir": 3, "afs_dir_GetVerifiedBlob": 3}
    # every 4th writepage fails with -EIO: below the histogram's range, as the talk's >10 row is above it
    assert histogram(lines, "afs_linux_writepage") == {"<0": 5, "0": 15, "1": 0, "2": 0}
    assert histogram(lines, "sys_msync") == {"<0": 5, "0": 15, "1": 0, "2": 0}
    assert histogram(lines, "write_cache_pages") == {"0": 20, "1": 0, "2": 0}
    assert histogram(lines, "afs_GetDCache") == {"9": 0, "10": 0, ">10": 23}  # pointers
    funcs = {line.split("::")[0][5:] for line in lines if line.startswith("Func ")}
    assert "afs_PutDCache" not in funcs and "ObtainReadLock" not in funcs  # void: @defined($return) is false


def test_step2_backtrace_of_the_failing_call(afsim_dir: Path) -> None:
    lines = run(afsim_dir, "cs1-step2-backtrace.stp", "./afsim 4 4 0", "-I", str(SEED / "tapset"))
    ours = [line for line in lines if not line.startswith("afsim:")]
    assert ours[0] == "openafs.aop.writepage.return <- Return Value : -5"
    exe = str(afsim_dir / "afsim")
    assert re.fullmatch(rf"Returning from:  0x[0-9a-f]+ : afs_linux_writepage\+0x0/0x[0-9a-f]+ \[{exe}\]", ours[1])
    assert re.fullmatch(rf"Returning to  :  0x[0-9a-f]+ : write_cache_pages\+0x[0-9a-f]+/0x[0-9a-f]+ \[{exe}\]",
                        ours[2])
    frames = [FRAME.match(line) for line in ours[3:]]
    assert all(frames), ours
    names = [m.group(1) for m in frames if m]
    assert names[:7] == ["do_writepages", "__filemap_fdatawrite_range", "filemap_write_and_wait_range",
                         "vfs_fsync_range", "vfs_fsync", "sys_msync", "main"]
    assert names[-1] == "_start"
    assert sum(1 for line in ours if "<- Return Value" in line) == 1  # only the 4th write fails


def test_step3_return_values_along_the_chain(afsim_dir: Path) -> None:
    lines = [line for line in run(afsim_dir, "cs1-step3-chain.stp", "./afsim 4 4 0") if not line.startswith("afsim")]
    ok = [f"{name} Returned 0" for name in CHAIN]
    failing = [f"{name} Returned {-5 if i >= 3 else 0}" for i, name in enumerate(CHAIN)]
    assert lines == ok * 3 + failing


def test_case2_fault_injection(afsim_dir: Path) -> None:
    lines = run(afsim_dir, "cs2-fault-injection.stp", "./afsim 0 4 3", "-g")
    assert lines[:6] == ["Ret value [0] going to change to non-zero", "Ret value changed to[-1] "] * 3
    assert lines[6] == "afsim: 0 writes, 0 failed with EIO, 3 readdirs, dcache[0] readers 3"  # the leak


def test_case2_injection_without_guru_mode_is_refused(afsim_dir: Path) -> None:
    proc = tapkit("run", "-c", "./afsim 0 4 3", str(SEED / "cs2-fault-injection.stp"), cwd=afsim_dir)
    assert proc.returncode == 1
    assert "write to target variable not permitted; need stap -g" in proc.stderr


def test_case2_lock_leak_caught_by_the_put_dcache_check(afsim_dir: Path) -> None:
    lines = run(afsim_dir, "cs2-lock-leak.stp", "./afsim 0 4 3", "-g", "-I", str(SEED / "tapset"))
    alerts = [i for i, line in enumerate(lines) if line == "ALERT::Lock Leak Detected"]
    assert len(alerts) == 3
    for n, i in enumerate(alerts, 1):
        m = re.fullmatch(r"dcache (0x[0-9a-f]+): lock (0x[0-9a-f]+) still held by afsim\((\d+)\): read "
                         rf"readers={n} waiting=0 wait_states=0x0 writer=0 last_reader=(\d+)", lines[i - 1])
        assert m, lines[i - 1]
        assert m.group(1) == m.group(2) and m.group(3) == m.group(4)  # the dcache's first member; we read last
        assert re.match(r"Returning from:  0x[0-9a-f]+ : afs_PutDCache\+0x0/", lines[i + 1])
        assert re.match(r"Returning to  :  0x[0-9a-f]+ : afs_linux_readdir\+", lines[i + 2])
    assert "afsim: 0 writes, 0 failed with EIO, 3 readdirs, dcache[0] readers 3" in lines


def test_case2_clean_run_has_no_leak(afsim_dir: Path) -> None:
    lines = run(afsim_dir, "cs2-lock-leak.stp", "./afsim 4 4 3", "-g", "-I", str(SEED / "tapset"), "-G", "inject=0")
    assert lines == ["afsim: 4 writes, 1 failed with EIO, 3 readdirs, dcache[0] readers 0"]


def test_timing_table(afsim_dir: Path) -> None:
    lines = [line for line in run(afsim_dir, "perf-timing.stp", "./afsim 200 4 3") if not line.startswith("afsim")]
    assert lines[0] == "function count min_us avg_us max_us"
    m = re.fullmatch(r"afs_GetDCache {13} +(\d+) +(\d+) +(\d+) +(\d+)", lines[1])
    assert m, lines[1]
    count, lo, avg, hi = map(int, m.groups())
    assert count == 203 and 0 <= lo <= avg <= hi
    assert len(lines) == 2
