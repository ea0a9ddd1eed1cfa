"""Asking the real stap (4.8) for its pass-1 verdicts, to compare tapkit's against.

How stap is asked, and why it is faithful:

* A user script: `stap -r RELEASE -p1 [-g] FILE ARGS…`. Exit status 0 is acceptance.
  Scripts get nine arguments "1": stap pastes `$N` raw and `@N` quoted into the token
  stream, so with numeric arguments `$N` is a number and `@N` a string, which is how
  tapkit reads them without knowing the arguments.
* A tapset file (.stp or .stpm): stap parses those as library files — privileged
  (embedded C, @const, `private`), no "empty file" error, and a file with an error is
  only skipped with `WARNING: [macro ]tapset "FILE" has errors`. So we build a tapset
  tree, point SYSTEMTAP_TAPSET at it and run `stap -p1 -v -e 'probe begin {}'`; the
  warnings name exactly the rejected files. One run judges many files at once (each
  file is parsed on its own), which is what makes thousands of mutants affordable.
  A .stpm file's macros are global, so it is judged in the company of the library's
  other .stpm files, as stap would see it, with its own original taken out.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tests.tooling import require_tool, stap_release

SCRIPT_ARGS = ("1",) * 9
_WARN_RE = re.compile(r'^WARNING: (?:macro )?tapset "([^"]+)" has errors')
_AT_RE = re.compile(r"^\s+(?:saw|at): .*? at (.+):(\d+):(\d+)$")
_SAW_EOF_RE = re.compile(r"^\s+saw: (.+) EOF$")
_ERR_RE = re.compile(r"^(?:parse|semantic) error: (.*)$")


@dataclass(frozen=True, slots=True)
class StapError:
    file: str
    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Verdict:
    accepted: bool
    errors: tuple[StapError, ...] = ()
    output: str = ""
    crashed: bool = False  # stap died (a signal) on this input: it gave no verdict

    @property
    def first(self) -> StapError | None:
        return self.errors[0] if self.errors else None


def parse_errors(stderr: str) -> list[StapError]:
    """stap's `parse error: MSG` / `saw: … at FILE:L:C` pairs, in order."""
    errors: list[StapError] = []
    message: str | None = None
    for line in stderr.splitlines():
        m = _ERR_RE.match(line)
        if m:
            message = m.group(1)
            continue
        if message is None:
            continue
        m2 = _AT_RE.match(line)
        if m2:
            errors.append(StapError(m2.group(1), int(m2.group(2)), int(m2.group(3)), message))
            message = None
            continue
        m3 = _SAW_EOF_RE.match(line)
        if m3:
            errors.append(StapError(m3.group(1), 0, 0, message))
            message = None
    return errors


def _stap(args: Sequence[str], env: dict[str, str] | None = None,
          timeout: float = 120) -> subprocess.CompletedProcess[str]:
    stap = require_tool("stap")
    return subprocess.run([stap, "-r", stap_release(), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, stdin=subprocess.DEVNULL)


@dataclass(frozen=True, slots=True)
class ScriptCase:
    path: Path
    guru: bool = False


def script_verdict(case: ScriptCase) -> Verdict:
    flags = ["-p1"] + (["-g"] if case.guru else [])
    proc = _stap([*flags, str(case.path), *SCRIPT_ARGS])
    return Verdict(proc.returncode == 0, tuple(parse_errors(proc.stderr)), proc.stderr)


def script_verdicts(cases: Sequence[ScriptCase], workers: int = 2) -> list[Verdict]:
    """Many scripts, `workers` stap processes at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(script_verdict, cases))


def tapset_tree(root: Path, macro_files: Iterable[tuple[str, str]], files: Iterable[tuple[str, str]]) -> None:
    """Write a tapset directory: (relative path, text) pairs."""
    for rel, text in [*macro_files, *files]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8", "surrogateescape"))


def library_verdicts(files: Sequence[tuple[str, str]], macro_files: Sequence[tuple[str, str]],
                     timeout: float = 600) -> dict[str, Verdict]:
    """Judge tapset files in one stap run. files and macro_files are (relative path, text); the
    relative paths must lie in directories stap searches (e.g. "linux/x.stp"). Returns a verdict
    for every entry of both, keyed by its relative path.

    stap 4.8 crashes on a few malformed inputs; then the run is split in halves until the
    crashing files are alone, and those get Verdict(crashed=True)."""
    tmp = Path(tempfile.mkdtemp(prefix="tapkit-oracle-"))
    try:
        tapset_tree(tmp, macro_files, files)
        env = dict(os.environ, SYSTEMTAP_TAPSET=str(tmp))
        proc = _stap(["-p1", "-v", "-e", "probe begin {}", *SCRIPT_ARGS], env=env, timeout=timeout)
        if proc.returncode < 0:
            shutil.rmtree(tmp, ignore_errors=True)
            if len(files) > 1:
                half = len(files) // 2
                return {**library_verdicts(files[:half], macro_files, timeout),
                        **library_verdicts(files[half:], macro_files, timeout)}
            return {rel: Verdict(False, (), proc.stderr, crashed=True) for rel, _ in [*files, *macro_files]}
        rejected = set()
        for line in proc.stderr.splitlines():
            m = _WARN_RE.match(line)
            if m:
                rejected.add(str(Path(m.group(1)).resolve().relative_to(tmp.resolve())))
        errors = parse_errors(proc.stderr)
        out: dict[str, Verdict] = {}
        for rel, _ in [*files, *macro_files]:
            mine = tuple(e for e in errors if e.file == str(tmp / rel))
            out[rel] = Verdict(rel not in rejected, mine)
        if not re.search(r"^Pass 1: parsed user script and \d+ library scripts", proc.stderr, flags=re.M):
            raise RuntimeError(f"stap did not get through pass 1:\n{proc.stderr[-2000:]}")
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def stap_library_file_list() -> list[str]:
    """The files `stap -vvv -p1` reports as "Processing tapset", in its order."""
    proc = _stap(["-p1", "-vvv", "-e", "probe begin {}"], timeout=300)
    return re.findall(r'^Processing tapset "([^"]+)"', proc.stderr, flags=re.M)
