"""`.label` and `.callee` points over the real openafs.ko: the labels tapkit reads from the DIEs are the
ones stap -p2 derives probes for, function by function."""

from __future__ import annotations

import re
from pathlib import Path

from tapkit.semantic import CheckOptions, check_text
from tapkit.semantic.callsites import function_sites
from tests.tooling import stap_offline, stap_release

_DERIVED = re.compile(r'function\("([^@"]+)@[^"]*"\)\.label\("([^"]+)"\)')


def test_every_label_stap_derives_and_no_other(openafs_ko: Path, tmp_path: Path) -> None:
    script = tmp_path / "labels.stp"
    script.write_text('probe module("openafs").function("*").label("*") { printf("%s\\n", pp()) }\n')
    proc = stap_offline("-p2", str(script), module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = {m.groups() for m in _DERIVED.finditer(proc.stdout)}
    ours = {(fn, lab.name) for fn, sites in function_sites(str(openafs_ko)).items()
            for lab in sites.labels if lab.address}
    assert len(theirs) > 100
    assert ours == theirs, (sorted(ours - theirs)[:10], sorted(theirs - ours)[:10])


def test_label_and_callee_points_in_tapkit_check(openafs_ko: Path) -> None:
    options = CheckOptions(release=stap_release(), debuginfo=(str(openafs_ko),))

    def errors(point: str, body: str = "println(1)") -> list[str]:
        result = check_text(f'probe module("openafs").{point} {{ {body} }}\n', "p.stp", options)
        return [d.message for d in result.diagnostics if d.is_error]

    assert errors('function("afs_Analyze").label("out")', "println($areq)") == []
    missing = errors('function("afs_Analyze").label("nosuch")')
    assert missing and "no match" in missing[0]
    assert errors('function("page_count").callee("folio_ref_count")') == []
    assert errors('function("afs_PutDCache").callees')  # only get_current, which stap blocklists
    sites = function_sites(str(openafs_ko))
    assert "folio_ref_count" in sites["page_count"].callees


_CALLEE = re.compile(r'<- module\("openafs"\)\.function\("([^@"]+)@[^"]*"\)\.callee\("([^@"]+)@')


def test_callees_stap_derives_for_a_sample_of_functions(openafs_ko: Path, tmp_path: Path) -> None:
    from tapkit.semantic.dwarfprobes import _BLOCKLISTED

    sites = function_sites(str(openafs_ko))
    callers = sorted(name for name, s in sites.items() if s.callees)[::12][:40]
    assert len(callers) >= 30
    script = tmp_path / "callees.stp"
    points = ",\n  ".join(f'module("openafs").function("{name}").callees ?' for name in callers)
    script.write_text(f"probe {points} {{ println(pp()) }}\nprobe begin {{ exit() }}\n")
    proc = stap_offline("-p2", str(script), module=openafs_ko)
    assert proc.returncode == 0, proc.stderr[-2000:]
    theirs = {m.groups() for m in _CALLEE.finditer(proc.stdout)}
    ours = {(name, c) for name in callers for c in sites[name].callees if not _BLOCKLISTED.fullmatch(c)}
    assert len(theirs) > 10
    assert ours == theirs, (sorted(ours - theirs)[:10], sorted(theirs - ours)[:10])
