"""Module specs resolved the way stap resolves them, against module trees built in a temporary root."""

from __future__ import annotations

import lzma
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tapkit.debuginfo import DebuginfoError, DebuginfoSource, load, open_debuginfo, parse_spec, resolve
from tapkit.target import host_release
from tests.debuginfo.conftest import Builds

REL = "6.1.0-test-amd64"


@pytest.mark.parametrize(("text", "kind", "name"), [
    ("kernel", "kernel", "kernel"),
    ("kernel:nfs", "module", "nfs"),
    ("kernel:", "kernel", "kernel"),
    ('module("openafs")', "module", "openafs"),
    ("module(openafs)", "module", "openafs"),
    ('process("/bin/ls")', "process", "/bin/ls"),
    ("/tmp/x.ko", "path", "/tmp/x.ko"),
    ("./prog", "path", "./prog"),
    ("openafs", "module", "openafs"),
])
def test_parse_spec(text: str, kind: str, name: str) -> None:
    spec = parse_spec(text)
    assert (spec.kind, spec.name) == (kind, name)


def test_header_forms_are_reported_as_unsupported() -> None:
    with pytest.raises(DebuginfoError, match="header forms"):
        parse_spec("kernel<linux/fs.h>")


@pytest.fixture()
def tree(tmp_path: Path, builds: Builds) -> Path:
    """A /lib/modules and /usr/lib/debug layout with modules made from the relocatable fixture."""
    mods = tmp_path / "lib/modules" / REL
    (mods / "extra").mkdir(parents=True)
    (mods / "kernel/fs/tk").mkdir(parents=True)
    shutil.copy(builds.obj, mods / "extra/tk-fix.ko")
    (mods / "kernel/fs/tk/tkxz.ko.xz").write_bytes(lzma.compress(builds.obj.read_bytes(),
                                                                 format=lzma.FORMAT_XZ))
    (mods / "modules.dep").write_text("extra/tk-fix.ko:\nkernel/fs/tk/tkxz.ko.xz: extra/tk-fix.ko\n")
    # A stripped module whose DWARF lives in Debian's -dbg layout.
    subprocess.run(["objcopy", "--strip-debug", str(builds.obj), str(mods / "kernel/fs/tk/tkdbg.ko")], check=True)
    dbg = tmp_path / "usr/lib/debug/lib/modules" / REL / "kernel/fs/tk"
    dbg.mkdir(parents=True)
    shutil.copy(builds.obj, dbg / "tkdbg.ko")
    return tmp_path


def _resolve(text: str, tree: Path, overrides: dict[str, str] | None = None) -> DebuginfoSource:
    return resolve(text, release=REL, modules_root=str(tree / "lib/modules"),
                   debug_roots=[str(tree / "usr/lib/debug")], overrides=overrides)


def test_module_by_name_via_modules_dep(tree: Path) -> None:
    for text in ('module("tk_fix")', 'module("tk-fix")', "kernel:tk_fix"):
        src = _resolve(text, tree)
        assert src.path == str(tree / "lib/modules" / REL / "extra/tk-fix.ko")
        assert src.module == "tk_fix" and src.format == "dwarf"


def test_compressed_module_is_unpacked(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tree / "cache"))
    src = _resolve('module("tkxz")', tree)
    assert src.path.startswith(str(tree / "cache"))
    assert open_debuginfo(src.path).functions("walk")


def test_debian_dbg_layout_wins_over_a_stripped_module(tree: Path) -> None:
    src = _resolve('module("tkdbg")', tree)
    assert src.path == str(tree / "usr/lib/debug/lib/modules" / REL / "kernel/fs/tk/tkdbg.ko")


def test_missing_module_lists_where_it_looked(tree: Path) -> None:
    with pytest.raises(DebuginfoError) as err:
        _resolve('module("nosuch")', tree)
    text = str(err.value)
    assert "no debuginfo for kernel module nosuch" in text and str(tree / "lib/modules" / REL) in text


def test_override_beats_search(tree: Path, builds: Builds) -> None:
    src = _resolve('module("anything")', tree, overrides={"anything": str(builds.dw5)})
    assert src.path == str(builds.dw5)
    info = load('module("anything")', overrides={"*": str(builds.dw5)})
    assert info.functions("walk")


def test_kernel_falls_back_to_btf_only_for_the_running_release(tree: Path) -> None:
    with pytest.raises(DebuginfoError) as err:
        _resolve("kernel", tree)
    assert "BTF only describes the running kernel" in str(err.value)
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        pytest.skip("this kernel has no BTF")
    src = resolve("kernel", release=host_release(), debug_roots=[str(tree / "usr/lib/debug")],
                  modules_root=str(tree / "lib/modules"))
    assert (src.format, src.path, src.module) == ("btf", "/sys/kernel/btf/vmlinux", "kernel")


def test_process_by_name_uses_path(builds: Builds, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", f"{builds.dir}:{os.environ.get('PATH', '')}")
    src = resolve('process("shapes-dw5")')
    assert src.path == str(builds.dw5) and src.module == "shapes-dw5"
    with pytest.raises(DebuginfoError, match="no such executable"):
        resolve('process("no-such-program-here")')
