"""Kernel tracepoints (`kernel.trace("sched:sched_switch")`) from the kernel's trace headers.

stap compiles every trace header of the target kernel into a query module to learn each
tracepoint's arguments. tapkit reads the same headers (include/trace/events, x86's asm/trace)
with a small C preprocessor -- #if on the kernel's CONFIG values, the headers' own helper macros
-- and takes names and TP_PROTO arguments from TRACE_EVENT, DEFINE_EVENT, DECLARE_TRACE and
their variants. When stap's own query cache lists which headers compiled for this kernel, only
those count, so both agree on which tracepoints exist. The catalog is cached per kernel.
"""

from __future__ import annotations

import fnmatch
import glob
import json
import os
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from tapkit.cache import cache_dir, content_hash, store
from tapkit.debuginfo import Debuginfo, DebuginfoError, open_debuginfo
from tapkit.semantic import ir
from tapkit.semantic.builtins import make_derived, string
from tapkit.semantic.context import ContextVar, ProbeContext
from tapkit.semantic.cpp import HeaderPreprocessor, split_args
from tapkit.semantic.errors import SemanticError, detached
from tapkit.semantic.probes import ArgLiteral, Point, ProbeSpec
from tapkit.semantic.suggest import levenshtein_suggest

if TYPE_CHECKING:
    from tapkit.semantic.session import DerivedProbe, Session
    from tapkit.target import Target

CATALOG_VERSION = "1"
_HEADER_GLOBS = ("include/trace/events/*.h", "arch/x86/include/asm/trace/*.h", "arch/x86/include/asm/*trace*.h",
                 "include/ras/ras_event.h")
# event macro -> (index of the name argument, index of TP_PROTO or -1 to inherit the class's)
_EVENT_MACROS = {
    "TRACE_EVENT": (0, 1), "TRACE_EVENT_FN": (0, 1), "TRACE_EVENT_FN_COND": (0, 1), "TRACE_EVENT_CONDITION": (0, 1),
    "DEFINE_EVENT": (1, 2), "DEFINE_EVENT_FN": (1, 2), "DEFINE_EVENT_PRINT": (1, 2),
    "DEFINE_EVENT_CONDITION": (1, 2), "DECLARE_TRACE": (0, 1), "DECLARE_TRACE_CONDITION": (0, 1),
    "TRACE_EVENT_PERF_PERM": (-1, -1),
}
_NAME = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True, slots=True)
class Tracepoint:
    system: str
    name: str
    args: tuple[tuple[str, str], ...]  # (name, C type)
    header: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.system}:{self.name}"


def header_dirs(release: str) -> list[str]:
    """The kernel source trees to read headers from (Debian splits them into -amd64 and -common)."""
    out = []
    for sub in ("build", "source"):
        p = os.path.realpath(f"/lib/modules/{release}/{sub}")
        if os.path.isdir(p) and p not in out:
            out.append(p)
    return out


def header_files(release: str) -> list[str]:
    found: dict[str, str] = {}
    for root in header_dirs(release):
        for pattern in _HEADER_GLOBS:
            for path in sorted(glob.glob(os.path.join(root, pattern))):
                rel = os.path.relpath(path, root)
                found.setdefault(rel, path)
    return [found[k] for k in sorted(found)]


_query_objects: dict[str, dict[str, str] | None] = {}


def stap_query_objects(release: str) -> dict[str, str] | None:
    """Header (real path) -> stap's compiled tracepoint query object, from stap's cache (None: no cache).

    stap builds one query module per trace header; a header whose module failed to compile has a
    log but no object, and its tracepoints do not exist for stap. Read once per process, and
    persisted keyed by the cache's directory listing (a new object changes its directory's mtime)."""
    if release not in _query_objects:
        _query_objects[release] = _scan_stap_cache(release)
    return _query_objects[release]


def _scan_stap_cache(release: str) -> dict[str, str] | None:
    root = os.path.expanduser("~/.systemtap/cache")
    try:
        listing = sorted((e.name, e.stat().st_mtime_ns) for e in os.scandir(root) if e.is_dir())
    except OSError:
        return None
    saved = cache_dir("tracepoints") / f"stapcache-{content_hash(repr((CATALOG_VERSION, release, listing)))}.json"
    try:
        data = json.loads(saved.read_text())
        return None if data is None else {str(k): str(v) for k, v in data.items()}
    except (OSError, ValueError, AttributeError):
        pass
    found: dict[str, str] = {}
    seen = False
    for log in sorted(glob.glob(os.path.join(root, "*", "tracequery_*_hash.log"))):
        try:
            with open(log, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError:
            continue
        if f"Kernel Release: {release}\n" not in text:
            continue
        seen = True
        obj = log[: -len("_hash.log")] + ".o"
        if not os.path.exists(obj):
            continue
        for m in re.finditer(r"^Header Path: (.*)$", text, re.M):
            found.setdefault(os.path.realpath(m.group(1).strip()), obj)
    result = found if seen else None
    store(saved, json.dumps(result))
    return result


def catalog(target: Target) -> dict[str, dict[str, Tracepoint]]:
    return _catalog(target.release, target.kernel_config_file or "")


@lru_cache(maxsize=4)
def _catalog(release: str, config_file: str) -> dict[str, dict[str, Tracepoint]]:
    from tapkit.target import Target

    files = header_files(release)
    objects = stap_query_objects(release)
    compiled = set(objects) if objects is not None else None
    parts = [CATALOG_VERSION, release, config_file]
    for f in files:
        st = os.stat(f)
        parts.append(f"{f}:{st.st_size}:{st.st_mtime_ns}")
    parts.append(repr(sorted(compiled)) if compiled is not None else "-")
    path = cache_dir("tracepoints") / f"{release}-{content_hash(chr(10).join(parts))}.json"
    try:
        data = json.loads(path.read_text())
        return {sys: {n: Tracepoint(sys, n, tuple((a, t) for a, t in args), header)
                      for n, (header, args) in events.items()}
                for sys, events in data.items()}
    except (OSError, ValueError):
        pass
    config = Target(release=release, kernel_config_file=config_file or None).kernel_config
    out: dict[str, dict[str, Tracepoint]] = {}
    for f in files:
        if compiled is not None and os.path.realpath(f) not in compiled:
            continue
        for tp in parse_header(f, config):
            out.setdefault(tp.system, {})[tp.name] = tp
    store(path, json.dumps({sys: {n: [tp.header, list(tp.args)] for n, tp in ev.items()} for sys, ev in out.items()}))
    return out


def parse_header(path: str, config: dict[str, str]) -> list[Tracepoint]:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return []
    pp = HeaderPreprocessor(config)
    body = pp.run(text)
    system = pp.defines.get("TRACE_SYSTEM", ("", None))[0].strip() or pp.last_trace_system
    classes: dict[str, str] = {}
    out: list[Tracepoint] = []
    for macro, args in pp.invocations(body, set(_EVENT_MACROS) | {"DECLARE_EVENT_CLASS"}):
        if macro == "DECLARE_EVENT_CLASS":
            if len(args) > 1:
                classes[args[0].strip()] = args[1]
            continue
        name_i, proto_i = _EVENT_MACROS[macro]
        if name_i < 0 or len(args) <= max(name_i, proto_i):
            continue
        name = args[name_i].strip()
        proto = args[proto_i] if proto_i >= 0 else classes.get(args[0].strip(), "")
        if not _NAME.fullmatch(name):
            continue
        sys_here = pp.system_at.get(name, system)
        out.append(Tracepoint(sys_here, name, tuple(proto_args(proto)), os.path.realpath(path)))
    return out


def proto_args(proto: str) -> list[tuple[str, str]]:
    """`TP_PROTO(struct task_struct *p, int cpu)` -> [("p", "struct task_struct *"), ("cpu", "int")]."""
    m = re.search(r"TP_PROTO\s*\((.*)\)\s*$", proto.strip(), re.S)
    inner = m.group(1) if m else proto
    out = []
    for param in split_args(inner):
        param = " ".join(param.split())
        if not param or param == "void":
            continue
        fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", param)
        if fp:
            out.append((fp.group(1), param.replace(fp.group(0), "(*)")))
            continue
        m2 = re.search(r"(\w+)\s*((?:\[[^\]]*\])*)$", param)
        if not m2:
            continue
        name = m2.group(1)
        ctype = (param[: m2.start()] + m2.group(2)).strip()
        out.append((name, ctype))
    return out


# ---------------------------------------------------------------- probes

def build_tracepoint(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                     results: list[DerivedProbe]) -> None:
    text = string(params, "trace") or ""
    system_pat, _, name_pat = text.rpartition(":")
    cat = catalog(s.options.target)
    hits: list[Tracepoint] = []
    literal = not any(ch in name_pat for ch in "*?[")
    for system in sorted(cat):
        if system_pat and not fnmatch.fnmatchcase(system, system_pat):
            continue
        events = cat[system]
        if literal:
            if name_pat in events:
                hits.append(events[name_pat])
            continue
        for name in sorted(events):
            if fnmatch.fnmatchcase(name, name_pat):
                hits.append(events[name])
    if not hits:
        sugs = _similar(s.options.target.release, s.options.target.kernel_config_file or "", system_pat, name_pat)
        raise SemanticError("sem.no-match", "no match" + (f" (similar tracepoints: {sugs})" if sugs else ""))
    objects = stap_query_objects(s.options.target.release) or {}
    for tp in hits:
        ctx = ProbeContext("tracepoint", display_point=f'kernel.trace("{tp.full_name}")', tracepoint=tp,
                           family_label="tracepoint")
        obj = objects.get(tp.header)
        if obj is not None:
            info = _query_debuginfo(s, obj)
            if info is not None:
                try:
                    ctx.function = info.function(f"stapprobe_{tp.name}")
                    ctx.debuginfo = info
                except DebuginfoError:
                    pass
        for arg, ctype in tp.args:
            ctx.variables[f"${arg}"] = ContextVar(f"${arg}", ir.LONG, c_type=ctype)
        for meta in ("$$name", "$$parms", "$$vars"):
            ctx.variables[meta] = ContextVar(meta, ir.STRING)
        results.append(make_derived(s, probe, loc, ctx))


@lru_cache(maxsize=256)
def _similar(release: str, config_file: str, system_pat: str, name_pat: str) -> str:
    """The "similar tracepoints" of a pattern that matched none: cached, since the optional tracepoints of the
    syscall aliases miss on every analysis and each list costs ~0.6 s of edit distances."""
    if not name_pat:
        return ""
    cat = _catalog(release, config_file)
    names = {n for sys, ev in cat.items() if not system_pat or fnmatch.fnmatchcase(sys, system_pat) for n in ev}
    return levenshtein_suggest(name_pat.split("*")[0] or name_pat, names, 5)


def _query_debuginfo(s: Session, obj: str) -> Debuginfo | None:
    key = f"tracequery:{obj}"
    cached = s.debuginfo_cache.get(key)
    if cached is not None:
        return cached if isinstance(cached, Debuginfo) else None
    try:
        info: Debuginfo | DebuginfoError = open_debuginfo(obj)
    except DebuginfoError as exc:
        info = detached(exc)
    s.debuginfo_cache[key] = info
    return info if isinstance(info, Debuginfo) else None


def resolve_tracepoint_var(s: Session, ctx: ProbeContext, e: ir.Target) -> None:
    var = ctx.variables.get(e.name)
    if var is not None and var.type == ir.LONG and ctx.function is not None and ctx.debuginfo is not None:
        from tapkit.semantic.targets import finish

        param = next((p for p in ctx.function.params if p.name == e.name[1:]), None)
        if param is not None:
            finish(s, e, ctx.debuginfo, param.type)
            return
    if var is None:
        from tapkit.semantic.suggest import distance

        # every variable, closest to the misspelling first, as stap lists them
        names = ", ".join(sorted(ctx.variables, key=lambda n: (distance(e.name, n), n)))
        raise SemanticError("sem.tracepoint-var",
                            f"unable to find tracepoint variable '{e.name}' (alternatives: {names})", s.locator.of(e))
    e.resolved = True
    pretty = any(c.kind == "pretty" for c in e.components)
    if var.type == ir.STRING or pretty:
        e.resolved_type = ir.STRING
        return
    members = [c for c in e.components if c.kind == "member"]
    if members and "*" not in var.c_type and "[" not in var.c_type:
        c = members[0]
        raise SemanticError("sem.target-access", f"invalid access '->{c.name}' vs. {var.c_type}",
                            s.locator.component(c))
    # the argument's struct layouts come from the kernel's DWARF, which stap has through its query
    # module; without it tapkit accepts member chains on pointer arguments as stap would for valid ones
    from tapkit.semantic.targets import accept_unchecked

    accept_unchecked(e)
