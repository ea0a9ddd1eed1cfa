"""Finding the debuginfo for a module spec the way stap does.

Specs: "kernel"; "kernel:NAME" (@cast's module argument) and module("NAME") for kernel
modules; process("PATH") and plain paths for user-space files; header forms such as
"kernel<linux/fs.h>" are reported as unsupported (they need a compiler, not debuginfo).
Kernel files are looked up for a release (default: the host's) under /lib/modules/RELEASE
(modules.dep, then a walk), Debian's /usr/lib/debug/lib/modules/RELEASE and
/usr/lib/debug/boot, and build-id links under /usr/lib/debug/.build-id. When no kernel DWARF
exists and the release is the running one, the kernel's BTF (/sys/kernel/btf) stands in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence

from tapkit.cache import cache_dir, content_hash
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.files import DEBUG_ROOTS, HOST_BTF
from tapkit.debuginfo.model import DebuginfoError
from tapkit.values import Value, field

_MODULE = re.compile(r'^\s*(module|process)\s*\(\s*"?([^")]*)"?\s*\)\s*$')
_COMPRESSED = (".ko.xz", ".ko.gz", ".ko.zst")


class ModuleSpec(Value):
    """What a spec names: kind is "kernel", "module", "process" or "path"."""

    kind: str
    name: str
    text: str


class DebuginfoSource(Value):
    """Where the types of a spec come from: path is the file to index (ELF with DWARF or BTF)."""

    spec: ModuleSpec
    module: str
    path: str
    format: str  # "dwarf" or "btf"
    binary: str | None = None  # the file that runs, when the debuginfo is a separate file
    searched: tuple[str, ...] = field(default=(), compare=False)


def parse_spec(text: str) -> ModuleSpec:
    """Classify a module spec; raises DebuginfoError for forms tapkit cannot serve."""
    spec = text.strip()
    if not spec:
        raise DebuginfoError(text, "empty module name")
    if "<" in spec and spec.endswith(">"):
        raise DebuginfoError(spec, "header forms like kernel<linux/fs.h> need a compiler (stap builds them with "
                                   "gcc); tapkit resolves types from DWARF or BTF only: use \"kernel\" or "
                                   "\"kernel:MODULE\"")
    if spec == "kernel":
        return ModuleSpec("kernel", "kernel", spec)
    if spec.startswith("kernel:"):
        name = spec.split(":", 1)[1].strip()
        return ModuleSpec("kernel", "kernel", spec) if name in ("", "kernel") else ModuleSpec("module", name, spec)
    m = _MODULE.match(spec)
    if m:
        kind, name = m.group(1), m.group(2).strip()
        if not name:
            raise DebuginfoError(spec, f"{kind}() needs a name")
        return ModuleSpec("module" if kind == "module" else "process", name, spec)
    if "/" in spec or spec.endswith((".ko", ".so", ".debug", *_COMPRESSED)) or os.path.isfile(spec):
        return ModuleSpec("path", spec, spec)
    return ModuleSpec("module", spec, spec)


def resolve(text: str, *, release: str | None = None, overrides: Mapping[str, str] | None = None,
            debug_roots: Sequence[str] = DEBUG_ROOTS, modules_root: str = "/lib/modules",
            btf_dir: str = os.path.dirname(HOST_BTF)) -> DebuginfoSource:
    """The debuginfo file for a spec. overrides maps a module name ("kernel", "openafs", a path's
    base name) or "*" to a file, as --debuginfo does."""
    spec = parse_spec(text)
    rel = release or (host_release() if spec.kind in ("kernel", "module") else "")
    overrides = overrides or {}
    override = overrides.get(_norm(spec.name)) or overrides.get(spec.name) or overrides.get("*")
    if override:
        return _from_file(spec, override, debug_roots, [override])
    if spec.kind == "kernel":
        return _kernel(spec, rel, debug_roots, modules_root, btf_dir)
    if spec.kind == "module":
        return _module(spec, rel, debug_roots, modules_root, btf_dir)
    path = spec.name
    if spec.kind == "process" and "/" not in path:
        import shutil

        found = shutil.which(path)
        if found is None:
            raise DebuginfoError(path, "no such executable on $PATH")
        path = found
    return _from_file(spec, path, debug_roots, [path])


def host_release() -> str:
    from tapkit.target import host_release as release  # platform is slow to import; paths never need it

    return release()


def _norm(name: str) -> str:
    return name.replace("-", "_")


def _from_file(spec: ModuleSpec, path: str, debug_roots: Sequence[str], searched: list[str]) -> DebuginfoSource:
    """A user-space or explicit file: itself when it has DWARF, else its separate debug file."""
    if not os.path.exists(path):
        raise DebuginfoError(path, "no such file")
    path = _unpacked(path)
    module = _module_name(path, spec)
    with open(path, "rb") as fh:
        if fh.read(2) in (b"\x9f\xeb", b"\xeb\x9f"):
            return DebuginfoSource(spec, module, os.path.abspath(path), "btf", searched=tuple(searched))
    found = _dwarf_for(path, debug_roots, searched)
    if found is None:
        elf = ElfFile(path)
        try:
            if elf.section(".BTF") is not None:
                return DebuginfoSource(spec, module, os.path.abspath(path), "btf", searched=tuple(searched))
        finally:
            elf.close()
        raise DebuginfoError(path, "has no DWARF debug information, and no separate debug file was found in "
                                   + ", ".join(searched[1:] or ["(no build-id or .gnu_debuglink)"]))
    binary = None if os.path.samefile(found, path) else os.path.abspath(path)
    return DebuginfoSource(spec, module, os.path.abspath(found), "dwarf", binary, tuple(searched))


def _module_name(path: str, spec: ModuleSpec) -> str:
    from tapkit.debuginfo.files import module_name

    if spec.kind == "module":
        return _norm(spec.name)
    return module_name(path)


def _dwarf_for(path: str, debug_roots: Sequence[str], searched: list[str]) -> str | None:
    """path itself if it has DWARF, else its debug file by build-id, then by .gnu_debuglink."""
    elf = ElfFile(path)
    try:
        if elf.has_dwarf():
            return path
        build_id, link = elf.build_id(), elf.debuglink()
    finally:
        elf.close()
    candidates = []
    if build_id and len(build_id) > 2:
        candidates += [os.path.join(root, ".build-id", build_id[:2], build_id[2:] + ".debug") for root in debug_roots]
    if link:
        here = os.path.dirname(os.path.abspath(path))
        candidates += [os.path.join(here, link), os.path.join(here, ".debug", link)]
        candidates += [os.path.join(root, here.lstrip("/"), link) for root in debug_roots]
    for cand in candidates:
        searched.append(cand)
        if os.path.isfile(cand) and _has_dwarf(cand):
            return cand
    return None


def _has_dwarf(path: str) -> bool:
    try:
        elf = ElfFile(_unpacked(path))
    except DebuginfoError:
        return False
    try:
        return elf.has_dwarf()
    finally:
        elf.close()


def _kernel(spec: ModuleSpec, rel: str, debug_roots: Sequence[str], modules_root: str,
            btf_dir: str) -> DebuginfoSource:
    candidates = []
    for root in debug_roots:
        candidates += [os.path.join(root, "boot", f"vmlinux-{rel}"), os.path.join(root, "lib/modules", rel, "vmlinux")]
    candidates += [f"/boot/vmlinux-{rel}", os.path.join(modules_root, rel, "build/vmlinux"),
                   os.path.join(modules_root, rel, "vmlinux")]
    searched: list[str] = []
    for cand in candidates:
        searched.append(cand)
        if os.path.isfile(cand) and _has_dwarf(cand):
            return DebuginfoSource(spec, "kernel", cand, "dwarf", searched=tuple(searched))
    btf = os.path.join(btf_dir, "vmlinux")
    searched.append(btf)
    if rel == host_release() and os.path.exists(btf):
        return DebuginfoSource(spec, "kernel", btf, "btf", searched=tuple(searched))
    if rel == host_release():
        why = f"no BTF at {btf}"
    else:
        why = f"BTF only describes the running kernel ({host_release()})"
    raise DebuginfoError("kernel", f"no debuginfo for kernel {rel}: no vmlinux with DWARF in "
                                   f"{', '.join(searched[:-1])}, and {why}; "
                                   f"install linux-image-{rel}-dbg or pass --debuginfo kernel=FILE")


def _module(spec: ModuleSpec, rel: str, debug_roots: Sequence[str], modules_root: str,
            btf_dir: str) -> DebuginfoSource:
    name = _norm(spec.name)
    searched: list[str] = []
    for root in debug_roots:
        where = os.path.join(root, "lib/modules", rel)
        searched.append(where)
        for cand in _find_ko(where, name):
            if _has_dwarf(cand):
                return DebuginfoSource(spec, name, _unpacked(cand), "dwarf", searched=tuple(searched))
    where = os.path.join(modules_root, rel)
    searched.append(where)
    for cand in _find_ko(where, name):
        found = _dwarf_for(_unpacked(cand), debug_roots, searched)
        if found is not None:
            binary = None if found == _unpacked(cand) else cand
            return DebuginfoSource(spec, name, found, "dwarf", binary, tuple(searched))
    btf = os.path.join(btf_dir, name)
    searched.append(btf)
    if rel == host_release() and os.path.exists(btf):
        return DebuginfoSource(spec, name, btf, "btf", searched=tuple(searched))
    raise DebuginfoError(f'module("{spec.name}")', f"no debuginfo for kernel module {name} ({rel}); looked in "
                                                    f"{', '.join(searched)}")


def _find_ko(root: str, name: str) -> list[str]:
    """Files of module name under root: modules.dep first (what depmod knows), then a walk."""
    if not os.path.isdir(root):
        return []
    wanted = {name + ext for ext in (".ko", *_COMPRESSED)} | {name.replace("_", "-") + ext
                                                              for ext in (".ko", *_COMPRESSED)}
    found: list[str] = []
    dep = os.path.join(root, "modules.dep")
    if os.path.isfile(dep):
        with open(dep, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                rel = line.split(":", 1)[0]
                if os.path.basename(rel) in wanted:
                    path = rel if rel.startswith("/") else os.path.join(root, rel)
                    if os.path.isfile(path):
                        found.append(path)
        if found:
            return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in ("build", "source")]
        found += [os.path.join(dirpath, f) for f in filenames if f in wanted]
    return sorted(found)


def _unpacked(path: str) -> str:
    """A compressed kernel module unpacked into the cache (ELF readers need the plain file)."""
    if not path.endswith(_COMPRESSED):
        return path
    st = os.stat(path)
    key = content_hash(f"{os.path.abspath(path)}:{st.st_size}:{st.st_mtime_ns}")
    out = cache_dir("debuginfo", "unpacked") / f"{os.path.basename(path).rsplit('.', 1)[0]}-{key[:12]}"
    if out.exists():
        return str(out)
    import gzip
    import lzma
    import shutil
    import subprocess

    try:
        if path.endswith((".xz", ".gz")):
            with open(path, "rb") as fh:
                raw = fh.read()
            data = lzma.decompress(raw) if path.endswith(".xz") else gzip.decompress(raw)
        else:
            zstd = shutil.which("zstd")
            if zstd is None:
                raise DebuginfoError(path, "is zstd-compressed and the zstd tool is not installed")
            data = subprocess.run([zstd, "-dc", path], capture_output=True, check=True).stdout
    except (OSError, lzma.LZMAError, EOFError, subprocess.CalledProcessError) as exc:
        raise DebuginfoError(path, f"cannot decompress: {exc}") from None
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, out)
    return str(out)
