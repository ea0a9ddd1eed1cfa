"""The real openafs.ko (DWARF 5, 155 compile units): every struct and union against pahole, the
functions the seed talk probes, and afs_* parameters against `stap -L`."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tapkit.debuginfo import Debuginfo, Struct, open_debuginfo
from tapkit.debuginfo.layout import format_layout, struct_layout
from tests.debuginfo.pahole import members, normalize, pahole_blocks
from tests.tooling import stap_offline

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def afs(openafs_ko: Path) -> Debuginfo:
    return open_debuginfo(openafs_ko)


def test_every_named_struct_and_union_matches_pahole(afs: Debuginfo, openafs_ko: Path) -> None:
    blocks = pahole_blocks(openafs_ko)
    assert len(blocks) > 800
    different = []
    for (kind, name), text in blocks.items():
        # A name can have several definitions (static types of different units): pahole shows one.
        ours = [members(format_layout(struct_layout(afs, t.id))) for t in afs.find_types(f"{kind} {name}")]
        if members(text) not in ours:
            different.append(name)
    assert different == []


def test_the_seed_structs_print_like_pahole(afs: Debuginfo, openafs_ko: Path) -> None:
    blocks = pahole_blocks(openafs_ko)
    for name in ("vcache", "dcache", "fcache", "afs_lock"):
        mine = format_layout(struct_layout(afs, afs.lookup_type(name).id))
        assert normalize(mine) == normalize(blocks[("struct", name)]), name
    vcache = afs.lookup_type("struct vcache")
    assert isinstance(vcache, Struct) and vcache.size == 1072
    v = afs.member(vcache.id, "v")
    assert (v.offset, v.type_name, v.size) == (0, "struct inode", 632)
    assert afs.walk(vcache.id, "->v.i_size").steps[-1].offset == 80


def test_seed_functions(afs: Debuginfo) -> None:
    get = afs.function("afs_GetDCache")
    assert [p.name for p in get.params] == ["avc", "abyte", "areq", "aoffset", "alen", "aflags"]
    assert afs.spell(get.return_type) == "struct dcache *"
    assert [p.name for p in afs.function("afs_PutDCache").params] == ["adc"]
    writepage = afs.function("afs_linux_writepage")
    assert writepage.static and len(writepage.ranges) == 2
    sections = [afs.section_of(lo) for lo, _ in writepage.ranges]
    assert [s[0] for s in sections if s] == [".text", ".text.unlikely"]
    assert afs.function("afs_dir_GetVerifiedBlob").params


def _parse(line: str) -> tuple[str, str, int, list[tuple[str, str]]]:
    head = re.search(r'function\("([^"@]+)@([^":]+):(\d+)"\)', line)
    assert head, line
    return head.group(1), head.group(2), int(head.group(3)), re.findall(r"\$(\w+):(.*?)(?= \$|$)", line.strip())


def test_afs_function_parameters_agree_with_stap_L(afs: Debuginfo, openafs_ko: Path) -> None:
    proc = stap_offline("-L", 'module("openafs").function("afs_*")', module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [line for line in proc.stdout.splitlines() if "@" in line]
    assert len(lines) > 600
    for line in lines:
        name, file, decl_line, stap_vars = _parse(line)
        ours = [f for f in afs.functions(name) if f.decl and (f.decl.file, f.decl.line) == (file, decl_line)]
        assert ours, f"tapkit lacks {name}@{file}:{decl_line}"
        known = {(v.name, afs.stap_type_name(v.type)) for f in ours for v in (*f.params, *f.locals)}
        # A va_list parameter decays to a pointer in the out-of-line copy tapkit reads.
        known |= {(n, "va_list") for n, t in known if t == "struct __va_list_tag*"}
        assert set(stap_vars) <= known, line
        if len(ours) == 1 and ours[0].has_body:  # one out-of-line copy: the parameters come in the same order
            params = [p.name for p in ours[0].params]
            listed = dict(stap_vars)
            assert [n for n, _ in stap_vars if n in params] == [n for n in params if n in listed], line
