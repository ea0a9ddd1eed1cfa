"""@cast(p, "T", "kernel<linux/fs.h>"): stap compiles the header for the target kernel; tapkit checks the
members against the kernel's own types (the running kernel's BTF here), and leaves them unchecked when the
target has no kernel debuginfo at all. stap -p2 (Debian's 6.1 headers) judges the same scripts alike."""

from __future__ import annotations

import platform
from pathlib import Path

import pytest

from tapkit.semantic import CheckOptions, check_text
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


def test_without_kernel_debuginfo_members_stay_unchecked() -> None:
    if Path(f"/usr/lib/debug/boot/vmlinux-{stap_release()}").exists() or stap_release() == platform.release():
        pytest.skip("this release has kernel debuginfo here")
    assert _errors(BAD_MEMBER, CheckOptions(release=stap_release())) == []


@pytest.mark.parametrize(("text", "accepted"), [(BAD_MEMBER, False), (GOOD, True), (NOT_A_STRUCT, False)])
def test_stap_judges_the_same_scripts_alike(text: str, accepted: bool, tmp_path: Path, host: CheckOptions) -> None:
    script = tmp_path / "h.stp"
    script.write_text(text)
    proc = stap_offline("-p2", str(script))
    assert (proc.returncode == 0) == accepted, proc.stderr
    ours = _errors(text, host)
    assert (not ours) == accepted
    if not accepted:
        first = next(line for line in proc.stderr.splitlines() if line.startswith("semantic error:"))
        assert ours[0].split(": ", 1)[1].split(" (")[0] in first, (ours[0], first)
