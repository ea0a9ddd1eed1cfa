"""tapsets/vfs: what can be verified here, where the running kernel has BTF but no kernel DWARF.

stap -p2 resolves the tapset's @cast(…, "kernel:kernel<linux/fs.h>") by compiling the header for Debian's
6.1, so every function is verified; its kernel.function probe points need vmlinux DWARF, which this machine
lacks, and stap stops there. tapkit resolves "kernel" from /sys/kernel/btf/vmlinux.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import pytest

from tapkit.semantic import CheckOptions, check_script
from tapkit.syntax import ast, parse
from tapkit.syntax.probes import probe_point_text
from tests.tooling import REPO, missing, stap_offline

VFS = REPO / "tapsets" / "vfs"


def declarations() -> tuple[list[ast.FunctionDecl], list[str]]:
    functions, aliases = [], []
    for path in sorted(VFS.glob("*.stp")):
        for item in parse(path.read_text(), str(path), library=True).file.items:
            if isinstance(item, ast.FunctionDecl):
                functions.append(item)
            elif isinstance(item, ast.AliasDecl):
                aliases += [probe_point_text(n) for n in item.names]
    return functions, aliases


def functions_script(tmp_path: Path) -> Path:
    functions, _ = declarations()
    body = "".join(f"\tprintln({f.name}({', '.join('0' for _ in f.params)}))\n" for f in functions)
    path = tmp_path / "functions.stp"
    path.write_text(f"probe begin\n{{\n{body}}}\n")
    return path


def aliases_script(tmp_path: Path) -> Path:
    _, aliases = declarations()
    path = tmp_path / "aliases.stp"
    uses = [(a, "retstr" if a.endswith(".return") else "argstr") for a in aliases]
    path.write_text("".join(f'probe {a} {{ printf("%s %s\\n", name, {var}) }}\n' for a, var in uses))
    return path


def test_the_tapset_declares_what_its_docs_say() -> None:
    functions, aliases = declarations()
    assert {f.name for f in functions} >= {"vfsfile_flags", "vfsfile_inode", "vfsfile_ino", "vfsfile_name"}
    assert aliases == ["vfsfile.open", "vfsfile.open.return", "vfsfile.fsync", "vfsfile.fsync.return"]
    assert all(f.doc is not None and "sfunction" in f.doc.text for f in functions)


def test_stap_verifies_every_function(tmp_path: Path) -> None:
    proc = stap_offline("-p2", "-I", str(VFS), str(functions_script(tmp_path)))
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_stap_cannot_resolve_the_probe_points_here(tmp_path: Path) -> None:
    proc = stap_offline("-p2", "-I", str(VFS), str(aliases_script(tmp_path)))
    assert proc.returncode != 0
    errors = {line for line in proc.stderr.splitlines() if line.startswith("semantic error:")}
    assert any("missing x86_64 kernel/module debuginfo" in e for e in errors), proc.stderr
    assert not any("vfsfile.stp" in e and "identifier 'kernel'" not in e for e in errors), errors


def host_btf() -> None:
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        missing("the running kernel's BTF (/sys/kernel/btf/vmlinux)")


def test_tapkit_check_resolves_the_functions_from_btf(tmp_path: Path) -> None:
    host_btf()
    result = check_script(str(functions_script(tmp_path)), CheckOptions(include_dirs=(str(VFS),),
                                                                        release=platform.release()))
    assert result.ok, [f"{d.span}: {d.message}" for d in result.diagnostics if d.is_error]


@pytest.mark.slow
def test_tapkit_check_resolves_the_probe_points_from_btf(tmp_path: Path) -> None:
    """Where stap stops (no vmlinux DWARF), tapkit checks the points against BTF and warns once that stap won't."""
    host_btf()
    result = check_script(str(aliases_script(tmp_path)), CheckOptions(include_dirs=(str(VFS),),
                                                                      release=platform.release()))
    assert result.ok, [f"{d.span}: {d.message}" for d in result.diagnostics if d.is_error]
    notes = [d for d in result.diagnostics if d.code == "sem.btf-only"]
    assert len(notes) == 1 and "stap itself needs DWARF debuginfo" in notes[0].message, result.diagnostics
    assert notes[0].span.file.endswith("vfsfile.stp")
