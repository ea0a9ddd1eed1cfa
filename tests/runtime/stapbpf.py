"""Run a script under Debian's `stap --runtime=bpf` here, as a second oracle for the runtime.

stap 4.8 compiles the script to a BPF object against the installed Debian kernel release
(`-r`, since the host kernel has no build tree), then `stapbpf` loads and runs it on the
host kernel. stapbpf raises RLIMIT_MEMLOCK first and gives up when the container refuses;
setrlimit_shim.c (LD_PRELOADed) makes that call succeed.

Whether it works here: yes. On this host (kernel 6.18, root, BPF and BTF available) begin,
end, error and timer probes run under stapbpf once the shim is preloaded; compilation takes
about a second per script and is cached by script text under the tapkit cache dir.

Differences from the kernel runtime that test_stapbpf.py pins, judged to be stapbpf bugs
(tapkit follows the kernel runtime in each):
- %u %x %X %o print only the low 32 bits of a long: printf("%u", -1) gives 4294967295.
- %d prints only the low 32 bits too: 100000 * 100000 prints 1410065408; INT64_MIN prints 0.
- `/` and `%` are not C's: -7 / 2 gives -4 and -7 % 3 gives 0 (C: -3 and -1); INT64_MIN / -1
  gives 0 (the kernel runtime: INT64_MIN). Division by zero hangs stapbpf instead of failing.
- Unary minus of a variable printed with %x gives a different junk value on each run.
- @count/@sum of statistics array elements are junk that depends on the key.
- The end-of-run summary reads "WARNING: Number of errors: 1" without ", skipped probes: 0".
- Not compiled at all: print(@hist_linear/@hist_log), @min/@max on aggregates, sorted foreach
  over statistics arrays, string tapset functions such as strlen().
Not a bug but a difference: unsorted foreach walks BPF hash order, not insertion order.
And one thing shared with the kernel runtime: stap 4.8's pass-2 constant folder rejects `>>>`
with two literal operands ("unsupported binary operator >>>").
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tests.tooling import fixture_cache, stap_release

HERE = Path(__file__).resolve().parent
SHIM_SOURCE = HERE / "setrlimit_shim.c"


@dataclass(frozen=True, slots=True)
class BpfRun:
    stdout: str
    stderr: str
    returncode: int


class StapbpfUnavailable(RuntimeError):
    """Why stapbpf cannot run scripts on this machine."""


def shim_path() -> Path:
    """Compile (once, cached by source hash) the setrlimit LD_PRELOAD shim."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise StapbpfUnavailable("gcc is missing (needed for the setrlimit shim)")
    digest = hashlib.sha256(SHIM_SOURCE.read_bytes()).hexdigest()[:16]
    out = fixture_cache() / "stapbpf" / f"setrlimit_shim-{digest}.so"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        subprocess.run([gcc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(SHIM_SOURCE)], check=True)
        tmp.rename(out)
    return out


def compile_bpf(script: str, timeout: float = 120) -> Path:
    """`stap --runtime=bpf -p4`: the BPF object for script (cached by script text)."""
    stap = shutil.which("stap")
    if stap is None:
        raise StapbpfUnavailable("stap is missing")
    digest = hashlib.sha256(script.encode()).hexdigest()[:20]
    cache = fixture_cache() / "stapbpf"
    obj = cache / f"s{digest}.bo"
    if obj.exists():
        return obj
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([stap, "--runtime=bpf", "-r", stap_release(), "-p4", "-m", f"s{digest}", "-e", script],
                              cwd=tmp, capture_output=True, text=True, timeout=timeout)
        built = Path(tmp) / f"s{digest}.bo"
        if proc.returncode != 0 or not built.exists():
            raise RuntimeError(f"stap --runtime=bpf -p4 failed:\n{proc.stderr}")
        shutil.copy(built, obj)
    return obj


def run_stapbpf(script: str, timeout: float = 60) -> BpfRun:
    """Compile and run script under stapbpf; its stdout, stderr and exit code."""
    stapbpf = shutil.which("stapbpf")
    if stapbpf is None:
        raise StapbpfUnavailable("stapbpf is missing (Debian package systemtap)")
    obj = compile_bpf(script)
    env = dict(os.environ, LD_PRELOAD=str(shim_path()))
    proc = subprocess.run([stapbpf, str(obj)], capture_output=True, text=True, timeout=timeout, env=env)
    # stapbpf prints this after a clean exit() when the probe set had no end probe.
    stderr = re.sub(r"Error loading \S+: No such file or directory\n?$", "", proc.stderr)
    return BpfRun(proc.stdout, stderr, proc.returncode)


@functools.cache
def stapbpf_status() -> str | None:
    """None when stapbpf runs a begin probe here; otherwise the reason it cannot."""
    try:
        run = run_stapbpf('probe begin { printf("ok %d\\n", 42); exit() }')
    except (StapbpfUnavailable, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        return str(exc)
    if run.stdout != "ok 42\n":
        return f"stapbpf ran but printed {run.stdout!r} (stderr {run.stderr!r}, rc {run.returncode})"
    return None
