"""The running kernel's BTF (/sys/kernel/btf/vmlinux): 300 randomly chosen structs against pahole,
kernel functions from BTF, and "kernel" resolving to BTF when no vmlinux DWARF is installed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tapkit.debuginfo import Debuginfo, Pointer, Struct, load, open_debuginfo
from tapkit.debuginfo.layout import format_layout, struct_layout
from tests.debuginfo.pahole import members, pahole_blocks
from tests.tooling import missing

VMLINUX = Path("/sys/kernel/btf/vmlinux")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel() -> Debuginfo:
    if not VMLINUX.exists():
        missing("BTF at /sys/kernel/btf/vmlinux")
    return open_debuginfo(VMLINUX)


def test_300_random_structs_match_pahole(kernel: Debuginfo) -> None:
    blocks = pahole_blocks(VMLINUX, "-F", "btf")
    structs = sorted(key for key in blocks if key[0] == "struct")
    assert len(structs) > 3000
    chosen = random.Random(3).sample(structs, 300)
    different = []
    for kind, name in chosen:
        ours = [members(format_layout(struct_layout(kernel, t.id))) for t in kernel.find_types(f"{kind} {name}")]
        if members(blocks[(kind, name)]) not in ours:
            different.append(name)
    assert different == []


def test_kernel_types_and_functions_from_btf(kernel: Debuginfo) -> None:
    assert kernel.source == "btf" and kernel.module == "kernel"
    task = kernel.lookup_type("task_struct")
    assert isinstance(task, Struct) and task.size > 1000
    pid = kernel.member(task.id, "pid")
    assert pid.type_name == "pid_t" and pid.size == 4
    inode = kernel.lookup_type("struct inode")
    assert kernel.walk(inode.id, "->i_sb->s_blocksize").steps[-1].kind == "member"
    vfs_read = kernel.function("vfs_read")
    assert [p.name for p in vfs_read.params] == ["file", "buf", "count", "pos"]
    first = kernel.type(vfs_read.params[0].type)
    assert isinstance(first, Pointer) and kernel.spell(first.id) == "struct file *"


def test_kernel_spec_uses_btf_without_vmlinux_dwarf() -> None:
    if not VMLINUX.exists():
        missing("BTF at /sys/kernel/btf/vmlinux")
    info = load("kernel", overrides={})
    assert info.source in ("btf", "dwarf") and info.find_type("struct inode") is not None
