"""The tapset library as stap's pass 1 sees it: which files, in which order, their macros, their trees.

stap searches each tapset directory (the system one, then each -I DIR) under
RUNTIME/VERSION/ARCH, RUNTIME/VERSION, …, RUNTIME/ARCH, RUNTIME, ARCH and the directory
itself (RUNTIME is "linux" for the kernel runtime), reading every *.stpm first
(library macros, visible to all files) and then every *.stp. Same-named files in
different directories are all parsed; only the same file reached twice is skipped.
"""

from __future__ import annotations

import gc
import os
import pickle
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from tapkit.cache import cache_dir, content_hash, store
from tapkit.diagnostics import Diagnostic
from tapkit.syntax.parser import LibraryMacros, ParseResult, parse, parse_library_macros
from tapkit.syntax.preprocessor import MacroDecl
from tapkit.target import Target
from tapkit.values import Value

DEFAULT_TAPSET_DIR = "/usr/share/systemtap/tapset"
_RUNTIME_DIRS = {"kernel": "linux", "dyninst": "dyninst", "bpf": "bpf"}


def system_tapset_dir() -> Path:
    return Path(os.environ.get("SYSTEMTAP_TAPSET") or DEFAULT_TAPSET_DIR)


def search_dirs(root: Path, target: Target) -> list[Path]:
    """The directories under one tapset root that stap searches for target, most specific first."""
    suffixes: list[str] = []
    if target.runtime == "kernel":
        kvr = target.release
        suffixes += [f"{kvr}/{target.arch}", kvr]
        base = target.kernel_version
        if base != kvr:
            suffixes += [f"{base}/{target.arch}", base]
        family = base
        while family.count(".") >= 2:
            family = family.rsplit(".", 1)[0]
            suffixes += [f"{family}/{target.arch}", family]
    suffixes += [target.arch, ""]
    runtime = _RUNTIME_DIRS.get(target.runtime, target.runtime)
    dirs = []
    for prefix in (runtime, ""):
        for suffix in suffixes:
            parts = [p for p in (prefix, suffix) if p]
            dirs.append(root.joinpath(*parts) if parts else root)
    return dirs


class LibraryFiles(Value):
    """What stap parses from the library, in its order: macro files first, then scripts."""

    macro_files: tuple[Path, ...]
    script_files: tuple[Path, ...]

    @property
    def all(self) -> tuple[Path, ...]:
        return self.macro_files + self.script_files


def library_files(target: Target, include_dirs: Sequence[Path | str] = (),
                  tapset_dir: Path | str | None = None, scripts: bool = True) -> LibraryFiles:
    """The .stpm and .stp files stap -p1 would process for target (check: stap -vvv -p1).

    scripts=False lists the macro files only (script_files is empty), for a caller that needs only macros."""
    roots = [Path(tapset_dir) if tapset_dir is not None else system_tapset_dir()] + [Path(d) for d in include_dirs]
    seen: set[tuple[int, int]] = set()
    found: dict[str, list[Path]] = {".stpm": [], ".stp": []}
    for ext in (".stpm", ".stp") if scripts else (".stpm",):
        # a file named like one an earlier root already gave is skipped ("duplicate name", stap -vv);
        # within one root, same-named files of different subdirectories are all read
        earlier_names: set[str] = set()
        for root in roots:
            names_here: set[str] = set()
            for d in search_dirs(root, target):
                if not d.is_dir():
                    continue
                for p in sorted(d.glob("*" + ext)):
                    try:
                        st = p.stat()
                    except OSError:
                        continue
                    key = (st.st_dev, st.st_ino)
                    if key in seen or not p.is_file() or p.name in earlier_names:
                        continue
                    seen.add(key)
                    names_here.add(p.name)
                    found[ext].append(p)
            earlier_names |= names_here
    return LibraryFiles(tuple(found[".stpm"]), tuple(found[".stp"]))


def read_source(path: Path | str) -> str:
    """Source text as stap reads it: bytes, with anything not UTF-8 kept (surrogate-escaped)."""
    return Path(path).read_bytes().decode("utf-8", "surrogateescape")


def collect_library_macros(macro_files: Sequence[Path | str], target: Target, use_cache: bool = True) -> LibraryMacros:
    """Read the .stpm files in order; a file with an error (or a duplicate name) adds none of its macros.

    The result is remembered under cache_dir("macros") by the files' contents, the target and the parser's
    version (lexing and preprocessing the 18 library files costs ~25 ms, loading them back ~3 ms)."""
    texts = [(path, read_source(path)) for path in macro_files]
    fingerprint = content_hash("\n".join([_target_key(target), *(f"{p}:{content_hash(t)}" for p, t in texts)]))
    cached = cache_dir("macros") / f"{content_hash(syntax_version() + fingerprint)}.pickle" if use_cache else None
    if cached is not None:
        try:
            with no_gc():
                found = pickle.loads(cached.read_bytes())
            if isinstance(found, LibraryMacros) and found.fingerprint == fingerprint:
                return found
        except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError, ImportError):
            pass
    known: dict[str, MacroDecl] = {}
    diags: list[Diagnostic] = []
    for path, text in texts:
        defs, errors = parse_library_macros(text, str(path), target, known)
        diags.extend(errors)
        for decl in defs.values():
            decl.library = True
        known.update(defs)
    macros = LibraryMacros(known, tuple(diags), fingerprint)
    if cached is not None:
        _store(cached, macros)
    return macros


def _store(path: Path, value: object) -> None:
    """Cache a pickle (tapkit.cache.store: atomically)."""
    try:
        data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    except RecursionError:  # a pathologically deep value is simply not cached
        return
    store(path, data)


# ---------------------------------------------------------------- cached parsing

@contextmanager
def no_gc(freeze: bool = False) -> Iterator[None]:
    """Building or loading many small objects: the cyclic GC only slows it (trees have no cycles).

    freeze: afterwards move everything alive to the permanent generation, so that the first
    collection after a bulk load does not walk a million tree nodes (they are freed by refcount)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


@lru_cache(maxsize=16)
def _target_key(target: Target) -> str:
    config = target.kernel_config_digest
    return "|".join([target.release, target.arch, target.runtime, target.stap_version, str(target.guru_mode),
                     target.privilege, config])


@lru_cache(maxsize=1)
def syntax_version() -> str:
    """Changes whenever the parser's code or grammar does, so stale cached trees are never used."""
    here = Path(__file__).parent
    # the tree's classes come from values.py and diagnostics.py (Span), which decide how trees pickle
    blobs = [p.read_bytes() for p in [*sorted(here.glob("*.py")), here / "grammar.lark",
                                      here.parent / "values.py", here.parent / "diagnostics.py"]]
    return content_hash(b"\0".join(blobs))


def cache_key(text: str, filename: str, target: Target, macros: LibraryMacros, library: bool,
              privileged: bool | None) -> str:
    return content_hash("\0".join([syntax_version(), content_hash(text), filename, _target_key(target),
                                   macros.fingerprint, str(library), str(privileged)]))


def parse_cached(text: str, filename: str, target: Target, macros: LibraryMacros | None = None,
                 library: bool = True, privileged: bool | None = None, cache: Path | None = None) -> ParseResult:
    """parse(), remembered under the cache dir by content hash; results loaded back carry no tokens."""
    macros = macros or LibraryMacros()
    directory = cache if cache is not None else cache_dir("parsed")
    path = directory / (cache_key(text, filename, target, macros, library, privileged) + ".pickle")
    try:
        with no_gc():
            blob = path.read_bytes()
            file, diags = pickle.loads(blob)
        return ParseResult(file, diags)
    except (OSError, pickle.PickleError, EOFError, ValueError, TypeError, AttributeError):
        pass
    with no_gc():
        result = parse(text, filename, target, macros, library=library, privileged=privileged)
    _store(path, (result.file, result.diagnostics))
    return result


class ParsedLibrary(Value):
    macros: LibraryMacros
    files: tuple[tuple[Path, ParseResult], ...]

    @property
    def diagnostics(self) -> tuple[Diagnostic, ...]:
        return self.macros.diagnostics + tuple(d for _, r in self.files for d in r.diagnostics)


# What every worker needs, set before forking so that it is inherited rather than pickled per file.
_WORK: tuple[Target, LibraryMacros, bool, str] | None = None


def _parse_one(path: str) -> tuple[str, ParseResult]:
    assert _WORK is not None
    target, macros, use_cache, cache = _WORK
    text = read_source(path)
    if use_cache:
        return path, parse_cached(text, path, target, macros, library=True, cache=Path(cache))
    with no_gc():
        r = parse(text, path, target, macros, library=True)
    return path, ParseResult(r.file, r.diagnostics)


def parse_library(target: Target, include_dirs: Sequence[Path | str] = (), tapset_dir: Path | str | None = None,
                  use_cache: bool = True, jobs: int = 1) -> ParsedLibrary:
    """Every library file stap would parse for target, as trees (jobs > 1 parses in worker processes)."""
    files = library_files(target, include_dirs, tapset_dir)
    macros = collect_library_macros(files.macro_files, target)
    global _WORK
    _WORK = (target, macros, use_cache, str(cache_dir("parsed")))
    work = [str(p) for p in files.script_files]
    with no_gc(freeze=True):
        try:
            if jobs > 1 and len(work) > 1:
                import multiprocessing

                ctx = multiprocessing.get_context("fork")
                with ctx.Pool(jobs) as pool:
                    results = pool.map(_parse_one, work, chunksize=max(1, len(work) // (jobs * 4)))
            else:
                results = [_parse_one(w) for w in work]
        finally:
            _WORK = None
    return ParsedLibrary(macros, tuple((Path(p), r) for p, r in results))
