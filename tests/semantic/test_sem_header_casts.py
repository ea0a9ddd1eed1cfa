"""@cast(p, "T", "kernel<linux/fs.h>") and "<sys/time.h>": stap compiles the headers (kbuild, gcc) and reads
the types from the object; so does tapkit (headers.py). Where no kbuild tree exists for the release (the
running kernel here), a kernel header's structs come from the kernel's own DWARF or BTF, and without either
the members stay unchecked. stap -p2 (Debian's 6.1 headers) judges the same scripts alike."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from tapkit.semantic import CheckOptions, CheckResult, check_text, ir
from tests.tooling import stap_offline, stap_release

BAD_MEMBER = ('function f:long(p:long) { return @cast(p, "file", "kernel<linux/fs.h>")->f_nosuch }\n'
              "probe begin { println(f(0)) }\n")
GOOD = ('function f:long(p:long) { return @cast(p, "file", "kernel:kernel<linux/fs.h>")->f_inode->i_ino }\n'
        "probe begin { println(f(0)) }\n")
NOT_A_STRUCT = ('function f:long(p:long) { return @cast(p, "file", "kernel<linux/fs.h>")->f_flags->x }\n'
                "probe begin { println(f(0)) }\n")


@pytest.fixture(scope="module")
def host() -> CheckOptions:
    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.skip("no kernel BTF here")
    return CheckOptions(release=platform.release())


def _errors(text: str, options: CheckOptions) -> list[str]:
    return [f"{d.span.line}: {d.message}" for d in check_text(text, "h.stp", options).diagnostics if d.is_error]


def test_header_cast_members_are_checked_through_btf(host: CheckOptions) -> None:
    errors = _errors(BAD_MEMBER, host)
    assert len(errors) == 1 and errors[0].startswith("1: unable to find member 'f_nosuch' for struct file")
    assert "f_inode" in errors[0]
    assert _errors(GOOD, host) == []
    errors = _errors(NOT_A_STRUCT, host)
    assert len(errors) == 1 and errors[0].startswith("1: invalid access '->x'"), errors


def test_a_type_btf_lacks_stays_unchecked(host: CheckOptions) -> None:
    text = ('function f:long(p:long) { return @cast(p, "no_such_struct_xyz", "kernel<linux/fs.h>")->a }\n'
            "probe begin { println(f(0)) }\n")
    assert _errors(text, host) == []


def test_without_a_build_tree_or_debuginfo_members_stay_unchecked() -> None:
    release = "0.0.0-tapkit-none"  # no /lib/modules tree, no vmlinux, and BTF describes another kernel
    assert _errors(BAD_MEMBER, CheckOptions(release=release)) == []


HEADER_SCRIPTS = [
    (BAD_MEMBER, False), (GOOD, True), (NOT_A_STRUCT, False),
    ('function f:long(p:long) { return @cast(p, "file", "kernel<linux/nosuch_tapkit.h>")->f_flags }\n'
     "probe begin { println(f(0)) }\n", False),
    ('function f:long(p:long) { return @cast(p, "nosuchtype", "kernel<linux/fs.h>")->f_flags }\n'
     "probe begin { println(f(0)) }\n", False),
    ('function f:long(p:long) { return @cast(p, "timeval", "<sys/time.h>")->tv_usec }\n'
     "probe begin { println(f(0)) }\n", True),
    ('function f:long(p:long) { return @cast(p, "timeval", "<sys/time.h>")->tv_nosuch }\n'
     "probe begin { println(f(0)) }\n", False),
    ('function f:long(p:long) { return @cast(p, "task_struct", "kernel<linux/fs.h><linux/sched.h>")->pid }\n'
     "probe begin { println(f(0)) }\n", True),
    ('function f:long(p:long) { return @cast(p, "iovec", "kernel<linux/uio.h>")[1]->iov_len }\n'
     "probe begin { println(f(0)) }\n", True),
]


@pytest.mark.parametrize(("text", "accepted"), HEADER_SCRIPTS)
def test_compiled_headers_judged_as_stap_judges_them(text: str, accepted: bool, tmp_path: Path) -> None:
    release = stap_release()
    if not Path(f"/lib/modules/{release}/build/.config").exists():
        pytest.skip(f"no kbuild tree for {release}")
    script = tmp_path / "h.stp"
    script.write_text(text)
    proc = stap_offline("-p2", str(script))
    assert (proc.returncode == 0) == accepted, proc.stderr
    ours = _errors(text, CheckOptions(release=release))
    assert (not ours) == accepted, ours
    if not accepted:
        first = next(line for line in proc.stderr.splitlines() if line.startswith("semantic error:"))
        assert ours[0].split(": ", 1)[1].split(" (")[0] in first, (ours[0], first)


def test_the_vfs_tapset_checks_against_the_compiled_header(tmp_path: Path) -> None:
    """tapsets/vfs casts through "kernel:kernel<linux/fs.h>": stap verifies every function (tests/gen/test_vfs.py);
    tapkit compiles the same header for the same release and agrees, member by member."""
    from tests.gen.test_vfs import VFS, functions_script

    release = stap_release()
    if not Path(f"/lib/modules/{release}/build/.config").exists():
        pytest.skip(f"no kbuild tree for {release}")
    result = check_text(functions_script(tmp_path).read_text(), str(tmp_path / "functions.stp"),
                        CheckOptions(include_dirs=(str(VFS),), release=release))
    assert result.ok, [d.message for d in result.diagnostics if d.is_error]
    casts = [n for n in _targets(result) if n.kind == "cast" and "<" in n.module]
    assert casts and all(n.resolved and n.base is not None and n.base.info is not None for n in casts)


def _targets(result: CheckResult) -> list[ir.Target]:
    assert result.analysis is not None
    return [n for fd in result.analysis.functions.values() if fd.body is not None
            for n in ir.walk(fd.body) if isinstance(n, ir.Target)]
