"""DWARF-backed probe points: kernel/module/process .function, .statement and their suffixes.

Functions are matched through the debuginfo index: a glob on the name, an optional `@file`
(a glob on the declaring file) and `:line`. Without debuginfo stap cannot resolve these: the
kernel of another release, or a module nobody built with -g, gives stap's "missing … debuginfo"
verdict unless --debuginfo names a file. User-space files without DWARF fall back to their ELF
symbol table, as stap does.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from tapkit.debuginfo import Debuginfo, DebuginfoError, Function
from tapkit.diagnostics import Span
from tapkit.semantic.builtins import make_derived, number, string
from tapkit.semantic.context import ProbeContext
from tapkit.semantic.errors import SemanticError, Where
from tapkit.semantic.lines import has_line, line_records
from tapkit.semantic.probes import ArgLiteral, Point, ProbeSpec
from tapkit.semantic.suggest import levenshtein_suggest
from tapkit.semantic.targets import load_debuginfo
from tapkit.syntax import ast as A

if TYPE_CHECKING:
    from tapkit.semantic.callsites import FunctionSites
    from tapkit.semantic.session import DerivedProbe, Session

# kernel functions stap will not probe as callees (its blocklist, as stap 4.8 reports it over openafs.ko;
# the arch_*bit* ones come from its blocklisted asm/ headers)
_BLOCKLISTED = re.compile(r"(atomic|atomic64|atomic_long)_\w+|get_current|spin_(un)?lock\w*|\w*preempt_count\w*"
                          r"|test_ti_thread_flag|arch_\w*bit\w*|constant_test_bit$")
_SPEC = re.compile(r"^(?P<name>[^@]*)(?:@(?P<file>[^:+]*)(?:(?P<sep>[:+])(?P<line>[\d*\-,]+))?)?$")


def _missing_debuginfo(s: Session) -> SemanticError:
    release = s.options.target.release
    return SemanticError("sem.no-debuginfo", f"missing x86_64 kernel/module debuginfo [man warning::debuginfo] "
                                             f"under '/lib/modules/{release}/build'")


def target_spec(params: dict[str, ArgLiteral | None]) -> tuple[str, str]:
    """(debuginfo spec, the probe point's prefix as stap prints it) for kernel/module/process points."""
    if "module" in params:
        name = string(params, "module") or ""
        return f'module("{name}")', f'module("{name}")'
    if "process" in params:
        path = string(params, "process")
        if "library" in params:
            lib = string(params, "library") or ""
            return f'process("{lib}")', f'process("{path}").library("{lib}")'
        if path is None:
            return "", "process"
        return f'process("{path}")', f'process("{path}")'
    return "kernel", "kernel"


def _load(s: Session, spec: str) -> Debuginfo:
    try:
        return load_debuginfo(s, spec)
    except DebuginfoError as exc:
        if spec.startswith("process") or spec.startswith("/"):
            raise
        raise _missing_debuginfo(s) from exc


def _user_returns(s: Session) -> bool:
    """Whether process .return probes can be placed: tapkit's live engine always can; stap refuses them
    when the release has inode-uprobes (CONFIG_UPROBES) but its symbol table does not show uretprobes
    (arch_uretprobe_hijack_return_addr; no System.map reads as none)."""
    if s.options.user_probes == "live":
        return True
    config = s.options.target.kernel_config
    if config.get("CONFIG_ARCH_SUPPORTS_UPROBES") != "y" or config.get("CONFIG_UPROBES") != "y":
        return True  # no inode-uprobes: stap would build its own uprobes module, which has return probes
    return kernel_has_function(s.options.target.release, "arch_uretprobe_hijack_return_addr")


@functools.lru_cache(maxsize=8)
def _kernel_functions(release: str) -> frozenset[str]:
    """The text symbols of the release's System.map, where stap reads kernel functions from; empty
    without one (stap warns "Kernel function symbol table missing" and knows no kernel function)."""
    paths = [f"/lib/modules/{release}/build/System.map", f"/boot/System.map-{release}"]
    if release == os.uname().release:
        paths.insert(0, "/proc/kallsyms")
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                return frozenset(parts[2] for parts in (line.split() for line in f)
                                 if len(parts) >= 3 and parts[1] in "TtWw")
        except OSError:
            continue
    return frozenset()


def kernel_has_function(release: str, name: str) -> bool:
    return name in _kernel_functions(release)


def process_by_pid(params: dict[str, ArgLiteral | None]) -> dict[str, ArgLiteral | None]:
    """process(PID) as stap takes it: the running process's executable (/proc/PID/exe, resolved), so
    the point reads process("PATH"); the runtime restricts the probe to that pid."""
    arg = params.get("process")
    if not isinstance(arg, A.NumberLiteral):
        return params
    pid = arg.value
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        raise SemanticError("sem.no-pid", f"cannot probe pid {pid}: No such process") from None
    except (PermissionError, OverflowError, ValueError):
        pass
    try:
        exe = os.path.realpath(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        raise SemanticError("sem.no-match", "no match") from None
    return {**params, "process": A.StringLiteral(arg.span, exe)}


def by_library(params: dict[str, ArgLiteral | None]) -> list[dict[str, ArgLiteral | None]] | None:
    """.library("NAME") by a bare name or glob: one set of params per library it matches (by its real
    path), None when the point names no library that way. No match is stap's error, with the
    executable's libraries as the similar ones."""
    from tapkit.semantic.userlibs import library_paths, loaded_libraries

    lib = string(params, "library")
    arg = params.get("library")
    if lib is None or "/" in lib or arg is None:
        return None
    exe = string(params, "process")
    exe_path = _resolve_path(exe) if exe else None
    paths = library_paths(exe_path, lib)
    if not paths:
        sugs = levenshtein_suggest(lib, loaded_libraries(exe_path), 5) if exe_path else ""
        raise SemanticError("sem.no-match", "no match" + (f" (similar libraries: {sugs})" if sugs else ""))
    return [{**params, "library": A.StringLiteral(arg.span, path)} for path in paths]


Builder = Callable[["Session", ProbeSpec, Point, dict[str, ArgLiteral | None], list["DerivedProbe"]], None]


def per_library(build: Builder) -> Builder:
    """build, with process(PID) read as its executable and .library("NAME") built once per library it
    matches (process_by_pid, by_library)."""
    @functools.wraps(build)
    def each(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
             results: list[DerivedProbe]) -> None:
        params = process_by_pid(params)
        subs = by_library(params)
        if subs is None:
            build(s, probe, loc, params, results)
        else:
            for sub in subs:
                each(s, probe, loc, sub, results)
    return each


@per_library
def build_dwarf(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                results: list[DerivedProbe]) -> None:
    spec, prefix = target_spec(params)
    if not spec:
        raise SemanticError("sem.no-match", "no match")
    module = string(params, "module")
    if module is not None and any(ch in module for ch in "*?["):
        names = module_names(s, module)
        if not names:
            raise _missing_debuginfo(s)
        for name in names:
            sub = dict(params)
            sub["module"] = A.StringLiteral(params["module"].span if params["module"] else loc.comps[0].where.span,
                                            name)
            build_dwarf(s, probe, loc, sub, results)
        return
    try:
        info = _load(s, spec)
    except DebuginfoError:
        _elf_fallback(s, probe, loc, params, results, spec)
        return
    kind = "function" if "function" in params else "statement"
    is_return = "return" in params
    if is_return and spec.startswith("process") and not _user_returns(s):
        raise SemanticError("sem.no-uretprobes", "process return probes not available [man error::inode-uprobes]")
    arg = params.get(kind)
    matches: list[Function]
    if isinstance(arg, A.NumberLiteral):  # a number: an address
        address = number(params, kind) or 0
        matches = [f for f in info.functions("*") if _covers(f, address)][:1]
        label = f"{address:#x}"
    else:
        text = string(params, kind) or ""
        matches = _match_functions(info, text, kind == "statement")
        label = text
    # BTF lists only functions compiled out of line, without addresses: each has a body
    btf = info.source == "btf"
    if "inline" in params:
        matches = [f for f in matches if f.inline_sites]
    elif "call" in params or is_return or "exported" in params:
        matches = [f for f in matches if f.has_body or btf]
        if "exported" in params:
            matches = [f for f in matches if f.external]
    else:
        matches = [f for f in matches if f.has_body or f.inline_sites or btf]
    if matches and ("label" in params or "callee" in params or "callees" in params):
        if not btf:  # BTF has neither labels nor call sites
            _build_sites(s, probe, loc, params, results, info, matches, spec, prefix)
            if results:
                return
        matches = []
    if not matches:
        names = [n for n in info.function_names()]
        base = label.split("@", 1)[0]
        sugs = levenshtein_suggest(base, names, 5) if base else ""
        raise SemanticError("sem.no-match", "no match" + (f" (similar functions: {sugs})" if sugs else ""))
    if btf:
        _note_btf(s, info, loc)
    for fn in matches:
        where = f"{fn.name}@{fn.decl.file}:{fn.decl.line}" if fn.decl is not None else fn.name
        display = f'{prefix}.{kind}("{where}")' + (".return" if is_return else "")
        ctx = ProbeContext("dwarf", display_point=display, is_return=is_return, module=spec, function=fn,
                           debuginfo=info, statement=kind == "statement")
        results.append(make_derived(s, probe, loc, ctx))


def _build_sites(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                 results: list[DerivedProbe], info: Debuginfo, matches: list[Function], spec: str,
                 prefix: str) -> None:
    """.label("L") (a label of the function, by glob) and .callee("F")/.callees(N) (functions inlined
    into it, N levels deep), from the DIEs (callsites.py).

    Callees are the functions inlined in the function as one address range: stap 4.8 finds no callee
    through the DW_TAG_call_site entries of DWARF 5 for out-of-line calls, nor inlined copies split into
    several ranges (callsites.py keeps the same ones). It also leaves out callees
    it blocklists (get_current, atomic_*, spin_lock*, functions of asm headers): _BLOCKLISTED names
    the ones seen in practice, not stap's whole list."""
    from tapkit.semantic.callsites import function_sites

    sites = function_sites(info.file)
    seen: set[tuple[str, str]] = set()
    for fn in matches:
        where = f"{fn.name}@{fn.decl.file}:{fn.decl.line}" if fn.decl is not None else fn.name
        mine = sites.get(fn.name)
        if mine is None:
            continue
        if "label" in params:
            pattern = string(params, "label") or "*"
            for lab in mine.labels:
                if lab.address and fnmatch.fnmatchcase(lab.name, pattern) and (fn.name, lab.name) not in seen:
                    seen.add((fn.name, lab.name))
                    ctx = ProbeContext("dwarf", display_point=f'{prefix}.function("{where}").label("{lab.name}")',
                                       module=spec, function=fn, debuginfo=info, statement=True)
                    results.append(make_derived(s, probe, loc, ctx))
            continue
        depth = number(params, "callees") if "callees" in params else 1
        pattern = string(params, "callee") or "*"
        callees = _callees(sites, fn.name, max(depth or 1, 1))
        for name in callees:
            if not fnmatch.fnmatchcase(name, pattern) or (fn.name, name) in seen:
                continue
            if not spec.startswith("process") and _BLOCKLISTED.fullmatch(name):
                sp = probe.decl.span  # stap warns at the `probe` keyword, and probes the rest
                at = Where(Span(sp.file, sp.line, sp.column, sp.line, sp.column + 5), "keyword")
                what = "is in blocklisted file" if name.startswith(("arch_", "constant_")) else "is blocklisted"
                s.errors.warn("sem.blocklisted", f"function {name} {what}", at)
                continue
            seen.add((fn.name, name))
            found = info.functions(name)
            callee = found[0] if found else None
            display = f'{prefix}.function("{where}").callee("{name}")' + (".return" if "return" in params else "")
            ctx = ProbeContext("dwarf", display_point=display, is_return="return" in params, module=spec,
                               function=callee, debuginfo=info if callee is not None else None, statement=True)
            results.append(make_derived(s, probe, loc, ctx))


def _callees(sites: dict[str, FunctionSites], caller: str, depth: int) -> list[str]:
    out: list[str] = []
    level = [caller]
    for _ in range(depth):
        nxt = []
        for name in level:
            entry = sites.get(name)
            for c in entry.callees if entry is not None else ():
                if c not in out:
                    out.append(c)
                    nxt.append(c)
        level = nxt
    return out


def _note_btf(s: Session, info: Debuginfo, loc: Point) -> None:
    """Once per module and run: the probe was resolved from BTF, which stap cannot use for it.

    BTF (what a kernel without debuginfo packages still has) names every out-of-line function with
    its parameters, so tapkit checks the point and its `$parameters`; stap -p2 needs DWARF for the
    same point and fails without it, and BTF knows no locals, inline sites or statement lines."""
    if info.module in s.btf_noted:
        return
    s.btf_noted.add(info.module)
    release = s.options.target.release
    need = (f"install linux-image-{release}-dbg or pass --debuginfo kernel=VMLINUX" if info.module == "kernel"
            else f"pass --debuginfo {info.module}=FILE with the module's DWARF")
    s.errors.warn("sem.btf-only", f"{info.module} functions resolved from BTF ({info.file}): parameters only, "
                                  f"no locals; stap itself needs DWARF debuginfo for this probe ({need})",
                  loc.comps[0].where)


def module_names(s: Session, pattern: str) -> list[str]:
    """Installed kernel modules (and --debuginfo ones) whose name matches a glob."""
    names = {n for n in s.options.debuginfo if n not in ("kernel", "*")}
    dep = f"/lib/modules/{s.options.target.release}/modules.dep"
    try:
        with open(dep, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                base = os.path.basename(line.split(":", 1)[0])
                names.add(re.sub(r"\.ko(\.(xz|gz|zst))?$", "", base).replace("-", "_"))
    except OSError:
        pass
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _covers(fn: Function, address: int) -> bool:
    if fn.ranges:
        return any(lo <= address < hi for lo, hi in fn.ranges)
    return fn.low_pc is not None and fn.high_pc is not None and fn.low_pc <= address < fn.high_pc


def _match_functions(info: Debuginfo, text: str, statement: bool) -> list[Function]:
    m = _SPEC.match(text)
    if m is None:
        return []
    name = m.group("name") or "*"
    file_pat = m.group("file")
    line = m.group("line")
    found = info.functions(name)
    if file_pat:
        found = [f for f in found if f.decl is not None and _file_matches(f.decl.file, file_pat)]
    if line and not statement and line.isdigit() and m.group("sep") == ":":
        found = [f for f in found if f.decl is not None and f.decl.line == int(line)]
    if line and statement and m.group("sep") == ":":
        wanted = _line_range(line)
        if wanted is None:
            return []
        records = line_records(info.file)
        found = [f for f in found if _has_code(info, f, records, wanted)]
    return found


def _line_range(text: str) -> range | None:
    """`42`, `40-50` (stap's statement line ranges)."""
    try:
        if "-" in text:
            lo, hi = text.split("-", 1)
            return range(int(lo), int(hi) + 1)
        return range(int(text), int(text) + 1)
    except ValueError:
        return None


def _has_code(info: Debuginfo, fn: Function, records: dict[str, set[int]], wanted: range) -> bool:
    """Some line of wanted has code and lies in fn (after its declaration, before the next function's)."""
    if fn.decl is None:
        return False
    start = fn.decl.line
    later = [g.decl.line for g in info.functions("*")
             if g.decl is not None and g.decl.file == fn.decl.file and g.decl.line > start]
    stop = min(later) if later else 1 << 30
    lines = [n for n in wanted if start <= n < stop]
    if not lines:
        return False
    return has_line(records, fn.decl.file, range(lines[0], lines[-1] + 1)) and any(
        n in recorded for path, recorded in records.items() if path == fn.decl.file or path.endswith(
            "/" + os.path.basename(fn.decl.file)) for n in lines)


def _file_matches(path: str, pattern: str) -> bool:
    return (fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, "*/" + pattern)
            or os.path.basename(path) == pattern)


def _elf_fallback(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                  results: list[DerivedProbe], spec: str) -> None:
    """A user-space file without DWARF: functions come from its ELF symbols, with no $variables."""
    path = spec[len('process("'):-2] if spec.startswith("process(") else spec
    found = _resolve_path(path)
    if found is None:
        raise SemanticError("sem.no-executable", f"cannot find executable '{path}'")
    names = elf_function_names(found)
    text = string(params, "function") or string(params, "statement") or ""
    pattern = text.split("@", 1)[0] or "*"
    matches = sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))
    if not matches:
        sugs = levenshtein_suggest(pattern, names, 5)
        raise SemanticError("sem.no-match", "no match" + (f" (similar functions: {sugs})" if sugs else ""))
    for name in matches:
        ctx = ProbeContext("dwarf", display_point=f'process("{found}").function("{name}")',
                           is_return="return" in params, module=spec)
        results.append(make_derived(s, probe, loc, ctx))


def _resolve_path(path: str) -> str | None:
    import shutil

    if "/" not in path:
        return shutil.which(path)
    return os.path.realpath(path) if os.path.isfile(path) else None


def elf_function_names(path: str) -> list[str]:
    """Defined function symbols (.symtab, else .dynsym) and PLT imports' names."""
    try:
        from elftools.elf.elffile import ELFFile
        from elftools.elf.sections import SymbolTableSection
    except ImportError:  # pragma: no cover - pyelftools is a dependency
        return []
    names: set[str] = set()
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            for sec in elf.iter_sections():
                if isinstance(sec, SymbolTableSection):
                    for sym in sec.iter_symbols():
                        if sym["st_info"]["type"] == "STT_FUNC" and sym.name:
                            names.add(sym.name.split("@", 1)[0])
    except (OSError, ValueError):
        return []
    return sorted(names)


@per_library
def build_process_elf(s: Session, probe: ProbeSpec, loc: Point, params: dict[str, ArgLiteral | None],
                      results: list[DerivedProbe]) -> None:
    """process(…).mark(…) and .plt(…): SDT notes and PLT entries of the file."""
    path = string(params, "library") or string(params, "process")
    if path is None:
        raise SemanticError("sem.no-match", "no match")
    found = _resolve_path(path)
    if found is None:
        raise SemanticError("sem.no-executable", f"cannot find executable '{path}'")
    if "mark" in params:
        marks = sdt_marks(found)
        pattern = string(params, "mark") or "*"
        provider = string(params, "provider")
        hits = [m for m in marks if fnmatch.fnmatchcase(m[1], pattern)
                and (provider is None or fnmatch.fnmatchcase(m[0], provider))]
        if not hits:
            raise SemanticError("sem.no-match", "no match")
        for prov, name, nargs in hits:
            ctx = ProbeContext("sdt", display_point=f'process("{found}").provider("{prov}").mark("{name}")')
            from tapkit.semantic import ir
            from tapkit.semantic.context import ContextVar

            for i in range(1, nargs + 1):
                ctx.variables[f"$arg{i}"] = ContextVar(f"$arg{i}", ir.LONG)
            ctx.variables["$$name"] = ContextVar("$$name", ir.STRING)
            ctx.variables["$$provider"] = ContextVar("$$provider", ir.STRING)
            ctx.variables["$$parms"] = ContextVar("$$parms", ir.STRING)
            results.append(make_derived(s, probe, loc, ctx))
        return
    # stap 4.8 finds no PLT entries in binaries linked with separate .plt.sec sections (Debian 12's
    # default), so .plt probes match nothing; the similar names are the file's functions
    names = elf_function_names(found)
    pattern = string(params, "plt") or "*"
    sugs = levenshtein_suggest(pattern, names, 5)
    raise SemanticError("sem.no-match", "no match" + (f" (similar functions: {sugs})" if sugs else ""))


def sdt_marks(path: str) -> list[tuple[str, str, int]]:
    """(provider, name, argument count) of the file's .note.stapsdt notes."""
    try:
        from elftools.elf.elffile import ELFFile
    except ImportError:  # pragma: no cover
        return []
    out = []
    try:
        with open(path, "rb") as fh:
            elf = ELFFile(fh)
            sec = elf.get_section_by_name(".note.stapsdt")
            if sec is None:
                return []
            data = sec.data()
            addr = 8 if elf.elfclass == 64 else 4
            pos = 0
            while pos + 12 <= len(data):
                namesz = int.from_bytes(data[pos:pos + 4], "little")
                descsz = int.from_bytes(data[pos + 4:pos + 8], "little")
                pos += 12
                pos += (namesz + 3) & ~3
                desc = data[pos:pos + descsz]
                pos += (descsz + 3) & ~3
                strings = desc[3 * addr:].split(b"\0")
                if len(strings) >= 3:
                    args = strings[2].decode(errors="replace").split()
                    out.append((strings[0].decode(errors="replace"), strings[1].decode(errors="replace"), len(args)))
    except (OSError, ValueError):
        return []
    return out
