"""Asking the real stap (4.8) for its pass-2 verdicts on the corpus, cached by what decides them.

How stap is asked: ``scripts/stap-offline --module openafs.ko -p2 [-g] [-I DIR]… FILE ARGS…``,
for every script (so the environment — Debian's release with openafs.ko installed — is the
same for all). Exit status 0 is acceptance; a rejection must end with stap's own
"Pass 1: parse failed" or "Pass 2: analysis failed", anything else (a crash, a timeout, a
broken installation) is an error of the harness, never a verdict.

What is recorded: every ``semantic error:`` / ``parse error:`` in order, each with the
FILE:LINE:COLUMN stap prints. stap leaves the file name out when it is the one it printed
last (``at :5:31``); we fill it back in. A context line such as "while processing probe …"
has no location of its own: the first error's location is that of the first located error.

Verdicts are cached as JSON under cache_dir("oracle")/p2, keyed by a hash of the script
text, its options, the content of its -I directories, stap's version, the release, and the
build-ids of openafs.ko and of the binaries the script names.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from functools import cache, lru_cache
from pathlib import Path

from tapkit.cache import cache_dir, content_hash
from tapkit.debuginfo.elf import read_build_id
from tests.semantic.corpus_p2 import ScriptOptions
from tests.tooling import SCRIPTS, require_tool, stap_release

_ERROR_RE = re.compile(r"^(semantic error|parse error): (.*)$")
# stap's token kinds, as it prints them before a location ("identifier 'foo' at F:L:C")
_AT_RE = re.compile(r"^(.*): (?:identifier|keyword|operator|string|number|embedded-code|junk) '.*' "
                    r"at ([^\s:]*):(\d+):(\d+)$")
_BARE_AT_RE = re.compile(r"^(.*?):? at ([^\s:]*):(\d+):(\d+)$")
_PARSE_AT_RE = re.compile(r"^\s+(?:saw|at): .*? at ([^\s:]*):(\d+):(\d+)$")
_FAILED_RE = re.compile(r"^Pass [12]: (?:parse|analysis) failed", re.M)
# printed on every run here (no kernel symbol table; the examples' nine arguments): not about the script
_BOILERPLATE_RE = re.compile(r"^WARNING: (?:Kernel function symbol table missing|unused command line option)")
TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class StapError:
    kind: str  # "semantic" or "parse"
    message: str
    file: str = ""  # "" and line 0 when stap gave no location
    line: int = 0
    column: int = 0


@dataclass(frozen=True, slots=True)
class StapVerdict:
    accepted: bool
    errors: tuple[StapError, ...] = ()
    warnings: tuple[str, ...] = ()  # stap's WARNING lines, less the two every run here prints

    @property
    def first(self) -> StapError | None:
        return self.errors[0] if self.errors else None

    @property
    def first_located(self) -> StapError | None:
        """The first error stap gave a place for: where "the first error" is, for line comparisons."""
        return next((e for e in self.errors if e.line), None)

    def describe(self) -> str:
        if self.accepted:
            return "accepts"
        first, loc = self.first, self.first_located
        head = first.message if first else "(no error message)"
        if loc is None:
            return f"rejects: {head}"
        if loc is not first:  # a context line ("while processing probe …") before the located error
            head = f"{head} / {loc.message}"
        return f"rejects: {head} at {loc.file}:{loc.line}:{loc.column}"


def parse_stap_errors(stderr: str, script: str) -> list[StapError]:
    """stap's errors in the order printed, with file names filled in where stap elided them."""
    errors: list[StapError] = []
    last_file = script
    pending: tuple[str, str] | None = None  # a parse error waiting for its "saw:/at:" line
    for line in stderr.splitlines():
        if pending is not None:
            m = _PARSE_AT_RE.match(line)
            if m:
                last_file = m.group(1) or last_file
                errors.append(StapError(pending[0], pending[1], last_file, int(m.group(2)), int(m.group(3))))
                pending = None
                continue
            if not line.strip():
                continue
            errors.append(StapError(*pending))
            pending = None
        m = _ERROR_RE.match(line)
        if not m:
            continue
        kind, text = m.group(1).split()[0], m.group(2)
        if kind == "parse":
            pending = (kind, text)
            continue
        at = _AT_RE.match(text) or _BARE_AT_RE.match(text)
        if at:
            last_file = at.group(2) or last_file
            errors.append(StapError(kind, at.group(1), last_file, int(at.group(3)), int(at.group(4))))
        else:
            errors.append(StapError(kind, text))
    if pending is not None:
        errors.append(StapError(*pending))
    return errors


@lru_cache(maxsize=1)
def stap_version() -> str:
    stap = require_tool("stap")
    proc = subprocess.run([stap, "-V"], capture_output=True, text=True, timeout=60)
    return (proc.stderr or proc.stdout).splitlines()[0]


@cache
def _build_id(path: str, mtime_ns: int) -> str:
    return read_build_id(path) or content_hash(Path(path).read_bytes())


def build_id(path: Path) -> str:
    return _build_id(str(path), path.stat().st_mtime_ns)


def _dir_hash(d: Path) -> str:
    parts = [f"{p.relative_to(d)}\0{p.read_bytes().hex()}" for p in sorted(d.rglob("*")) if p.is_file()]
    return content_hash("\n".join(parts))


def stap_argv(script: Path, options: ScriptOptions, module: Path) -> list[str]:
    argv = ["nice", "-n", "5", str(SCRIPTS / "stap-offline"), "--module", str(module), "-p2"]
    if options.guru:
        argv.append("-g")
    for d in options.include_dirs:
        argv += ["-I", str(d)]
    return [*argv, str(script), *options.args]


def cache_key(script: Path, options: ScriptOptions, module: Path, binaries: Sequence[Path]) -> str:
    data = {
        "script": str(script),  # stap prints it in errors, so it is part of the verdict
        "text": script.read_text(errors="surrogateescape"),
        "guru": options.guru,
        "include": [[str(d), _dir_hash(d)] for d in options.include_dirs],
        "args": list(options.args),
        "stap": stap_version(),
        "release": stap_release(),
        "module": build_id(module),
        "binaries": [[str(b), build_id(b)] for b in binaries],
    }
    return content_hash(json.dumps(data, sort_keys=True))


def run_stap(script: Path, options: ScriptOptions, module: Path) -> StapVerdict:
    """One fresh stap -p2 run (no cache)."""
    proc = subprocess.run(stap_argv(script, options, module), capture_output=True, text=True,
                          timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    warnings = tuple(ln for ln in proc.stderr.splitlines()
                     if ln.startswith("WARNING:") and not _BOILERPLATE_RE.match(ln))
    if proc.returncode == 0:
        return StapVerdict(True, (), warnings)
    errors = parse_stap_errors(proc.stderr, str(script))
    if proc.returncode != 1 or not _FAILED_RE.search(proc.stderr) or not errors:
        raise RuntimeError(f"stap gave no verdict on {script} (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return StapVerdict(False, tuple(errors), warnings)


def _load(path: Path) -> StapVerdict | None:
    try:
        data = json.loads(path.read_text())
        return StapVerdict(data["accepted"], tuple(StapError(**e) for e in data["errors"]), tuple(data["warnings"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _store(path: Path, verdict: StapVerdict) -> None:
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(json.dumps(asdict(verdict)))
    tmp.replace(path)


@dataclass(frozen=True, slots=True)
class OracleJob:
    script: Path  # the materialized file stap reads
    options: ScriptOptions
    binaries: tuple[Path, ...] = ()


def stap_verdicts(jobs: Sequence[OracleJob], module: Path, workers: int = 2,
                  progress: Callable[[int, int], None] | None = None) -> list[StapVerdict]:
    """stap's verdict for every job, from the cache where it is there, else `workers` stap runs at a time."""
    store = cache_dir("oracle", "p2")
    keys = [cache_key(j.script, j.options, module, j.binaries) for j in jobs]
    verdicts: list[StapVerdict | None] = [_load(store / f"{k}.json") for k in keys]
    todo = [i for i, v in enumerate(verdicts) if v is None]
    if todo:
        # install the module once, before parallel runs could race to copy it
        subprocess.run([str(SCRIPTS / "stap-offline"), "--module", str(module), "-V"],
                       capture_output=True, timeout=TIMEOUT, check=True)

    def one(i: int) -> tuple[int, StapVerdict]:
        v = run_stap(jobs[i].script, jobs[i].options, module)
        _store(store / f"{keys[i]}.json", v)
        return i, v

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for done, (i, v) in enumerate(pool.map(one, todo), 1):
            verdicts[i] = v
            if progress is not None:
                progress(done, len(todo))
    return [v for v in verdicts if v is not None]


def main(argv: Sequence[str]) -> int:
    """`python -m tests.semantic.oracle_p2 [FILTER…]`: stap's verdict on each corpus script whose name has a FILTER."""
    from tests.semantic.corpus_p2 import build_binaries, corpus_scripts, materialize
    from tests.tooling import build_openafs_ko

    scripts = [s for s in corpus_scripts() if not argv or any(f in s.name for f in argv)]
    binaries = build_binaries()
    jobs = [OracleJob(materialize(s, binaries), s.options, tuple(binaries[b] for b in s.binaries)) for s in scripts]
    for s, v in zip(scripts, stap_verdicts(jobs, build_openafs_ko()), strict=True):
        print(f"{s.name}: stap {v.describe()}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
