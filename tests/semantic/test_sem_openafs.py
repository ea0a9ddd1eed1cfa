"""Target variables over the real openafs.ko (module("openafs"), @cast(…, "kernel:openafs")), through
a --debuginfo override; the messages are stap 4.8's on the same scripts with the module installed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.semantic import CheckOptions, analyze_text, check_text
from tapkit.semantic import queries as Q
from tests.tooling import stap_release

pytestmark = pytest.mark.slow

PUT = 'probe module("openafs").function("afs_PutDCache") {{\n  print({expr})\n}}\n'


@pytest.fixture(scope="module")
def options(openafs_ko: Path) -> CheckOptions:
    return CheckOptions(release=stap_release(), debuginfo=(str(openafs_ko),))


def errors(text: str, options: CheckOptions) -> list[str]:
    return [d.message for d in check_text(text, "o.stp", options).diagnostics if d.is_error]


def test_member_chains_through_pointers(options: CheckOptions) -> None:
    assert errors(PUT.format(expr="$adc->f->fid->Fid->Volume"), options) == []
    assert errors(PUT.format(expr="&$adc->lock"), options) == []


def test_unknown_member_lists_the_alternatives(options: CheckOptions) -> None:
    assert errors(PUT.format(expr="$adc->nosuch"), options)[0] == (
        "unable to find member 'nosuch' for struct dcache (alternatives: f, lock, lruq, tlock, bucket, mflock, "
        "dirty, index, refCount, dflags, mflags, validPos)")


def test_a_whole_struct_is_not_a_value(options: CheckOptions) -> None:
    first = errors(PUT.format(expr="$adc->f"), options)[0]
    assert first.startswith("'struct fcache' (") and first.endswith(") is being accessed instead of a member "
                                                                    "such as '->chunk'")


def test_cast_into_the_module(options: CheckOptions) -> None:
    assert errors('probe begin { print(@cast(0, "afs_lock", "kernel:openafs")->excl_locked) }', options) == []
    assert errors('probe begin { print(@cast(0, "afs_lock", "kernel:openafs")->excl) }', options)[0].startswith(
        "unable to find member 'excl' for struct afs_lock (alternatives: ")


def test_function_wildcards_resolve_to_each_function(options: CheckOptions) -> None:
    result = check_text('probe module("openafs").function("afs_Put*") { print(1) }', "o.stp", options)
    assert result.ok and result.analysis is not None
    functions = sorted(p.context.function.name for p in result.analysis.probes if p.context.function)
    assert functions == ["afs_PutCellAlias", "afs_PutConn", "afs_PutDCache", "afs_PutDynroot", "afs_PutFakeStat",
                         "afs_PutUser", "afs_PutVCache"]
    names = [p.name() for p in result.analysis.probes]
    assert any(n.startswith('module("openafs").function("afs_PutDCache@') and n.endswith('/afs_dcache.c:1382")')
               for n in names), names


def test_unknown_module_needs_debuginfo(options: CheckOptions) -> None:
    assert errors('probe module("nosuchmod").function("*") { print(1) }', options) == [
        f"while resolving probe point: missing x86_64 kernel/module debuginfo [man warning::debuginfo] "
        f"under '/lib/modules/{options.release}/build'"]


def test_editor_completes_members(options: CheckOptions) -> None:
    text = PUT.format(expr="$adc->f->fid")
    analysis = analyze_text(text, "o.stp", options, editor=True)
    base = Q.target_type_at(analysis, "o.stp", 2, 10)
    assert base is not None and base.spelled() == "struct dcache *"
    assert {"f", "lock", "refCount"} <= set(base.members())
    inner = Q.target_type_at(analysis, "o.stp", 2, 16)  # on `->fid`: what has fid
    assert inner is not None and inner.spelled() == "struct fcache" and "fid" in inner.members()
    ctx = Q.probe_context_at(analysis, "o.stp", 2, 3)
    assert ctx is not None and ctx.function is not None and ctx.function.name == "afs_PutDCache"
    assert "$adc" in {v.name for v in Q.context_variables(ctx)}


@pytest.mark.parametrize("expr", ["$adc->lock", "$adc->f", '@cast($adc, "dcache", "kernel:openafs")->f->fid',
                                  '@cast($adc, "afs_lock", "kernel:openafs")[1]'])
def test_whole_struct_errors_name_the_member_stap_names(expr: str, options: CheckOptions, openafs_ko: Path,
                                                        tmp_path: Path) -> None:
    from tests.tooling import stap_offline

    script = tmp_path / "w.stp"
    script.write_text(PUT.format(expr=expr))
    proc = stap_offline("-p2", str(script), module=openafs_ko)
    theirs = next(line for line in proc.stderr.splitlines() if line.startswith("semantic error:"))
    ours = errors(script.read_text(), options)[0]
    assert "is being accessed instead of a member such as" in ours
    assert ours.split(" (")[0] in theirs and ours.rsplit("such as ", 1)[1] in theirs, (ours, theirs)
