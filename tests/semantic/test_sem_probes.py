"""Probe points: built-in families, library aliases (wildcards, `?`, `!`, `if`), user aliases, DWARF
points without kernel debuginfo, and process("…") over a gcc -g binary.

Expectations were read off `stap -r 6.1.0-56-amd64 -p2` on the same text.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tapkit.diagnostics import Diagnostic
from tapkit.semantic import CheckOptions, analyze_text, check_text
from tests.tooling import compile_c, stap_release


@pytest.fixture(scope="module")
def options() -> CheckOptions:
    return CheckOptions(release=stap_release())


def first_error(text: str, options: CheckOptions) -> Diagnostic | None:
    errors = [d for d in check_text(text, "p.stp", options).diagnostics if d.is_error]
    return errors[0] if errors else None


ACCEPTED = [
    'probe syscall.open { printf("%s %s\\n", filename, argstr) }',
    "probe syscall.open*, syscall.close { print(name) }",
    "probe nd_syscall.read { print(fd) }",
    'probe kernel.function("vfs_read") ? { print(1) } probe begin { print(2) }',
    "global on = 1; probe timer.s(1), timer.ms(100) if (on) { print(1) }",
    "probe begin !, end { print(1) }",
    "probe myalias = begin { x = 1 } probe myalias { print(x) }",
    "probe timer.ms(100).randomize(10) { print(1) }",
    "probe perf.sw.cpu_clock { print(1) }",
    "probe perf.type(1).config(0).sample(100) { print(1) }",
    'probe procfs("foo").read { $value = "x" }',
    'probe procfs.read.maxsize(1024) { $value = "x" }',
    "probe netfilter.ipv4.pre_routing { print(1) }",
    "probe process.begin { print(pid()) }",
    "probe signal.send { print(sig_name) }",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_like_stap(text: str, options: CheckOptions) -> None:
    assert first_error(text, options) is None


MISSING_DEBUGINFO = ("while resolving probe point: missing x86_64 kernel/module debuginfo [man warning::debuginfo] "
                     "under '/lib/modules/{release}/build'")

# (text, first error message, line, column); a None line: in a library file
REJECTED = [
    ('probe kernel.function("vfs_read") { print(1) }', MISSING_DEBUGINFO, 1, 7),
    ('probe module("ext4").function("*") { print(1) }', MISSING_DEBUGINFO, 1, 7),
    ('probe kernel.statement("vfs_read@fs/read_write.c:*") { print(1) }', MISSING_DEBUGINFO, 1, 7),
    ("probe vfs.read { print(bytes_to_read) }", MISSING_DEBUGINFO, None, None),
    ("probe myalias = begin { x = 1 } probe myalias += end { print(x) } probe myalias { print(2) }",
     "unresolved type", 1, 62),
    ("probe a = b { } probe b = a { } probe a { print(1) }",
     "while resolving probe point: recursive loop in alias expansion of b at p.stp:1:11", 1, 11),
    ("probe syscall.nosuch { print(1) }",
     "while resolving probe point: probe point mismatch (similar: acct, dup, dup2, dup3, mount)", 1, 7),
    ("probe nosuch.* { print(1) }",
     "while resolving probe point: probe point mismatch (similar: tcp, udp, module, nfs, nfsd)", 1, 7),
    ("probe syscall.open { print(nosuchvar) }", "unresolved type", 1, 28),
    ('probe kprobe.function("vfs_read") { print(1) }', "while resolving probe point: no match", 1, 7),
    ("probe scheduler.cpu_on { print(idle) }", "while resolving probe point: no match", 1, 7),
    ('probe process("/bin/ls").function("main") { print(1) }',
     "while resolving probe point: no match (similar functions: exit, raise, textdomain, _exit, stat)", 1, 7),
]


@pytest.mark.parametrize(("text", "message", "line", "column"), REJECTED)
def test_rejected_like_stap(text: str, message: str, line: int | None, column: int | None,
                            options: CheckOptions) -> None:
    err = first_error(text, options)
    assert err is not None, "stap rejects this"
    assert err.message == message.format(release=options.release)
    if line is None:
        assert err.span.file.startswith("/usr/share/systemtap/tapset/")
    else:
        assert (err.span.file, err.span.line, err.span.column) == ("p.stp", line, column)


def test_alias_expansion_is_kept_for_the_compiler(options: CheckOptions) -> None:
    analysis = check_text("probe myalias = timer.ms(10) { x = 1 } probe myalias { print(x) }", "p.stp",
                          options).analysis
    assert analysis is not None and analysis.ok
    [probe] = analysis.probes
    assert probe.name() == "timer.ms(10)"
    assert probe.aliases() == ["myalias"]
    assert [v.name for v in probe.locals] == ["x"]
    assert probe.context.family == "timer"


def test_library_aliases_pull_in_their_files(options: CheckOptions) -> None:
    analysis = check_text("probe syscall.close { print(name, fd) }", "p.stp", options).analysis
    assert analysis is not None and analysis.ok
    assert {Path(f).name for f in analysis.library_files} >= {"sysc_close.stp", "aux_syscalls.stp"}
    chains = {(p.name(), tuple(p.aliases())) for p in analysis.probes}
    assert ('kernel.trace("raw_syscalls:sys_enter")',
            ("tp_syscall.close", "nd_syscall.close", "syscall.close")) in chains
    functions = {fd.name for p in analysis.probes for fd in analysis.functions_of(p)}
    assert "_dfd_str" not in functions  # not reached from close


C_SOURCE = """\
struct point { int x; int y; struct point *next; };
int walk(struct point *p, int depth) { int sum = 0; while (p) { sum += p->x; p = p->next; } return sum + depth; }
int main(void) { struct point a = {1, 2, 0}; return walk(&a, 3); }
"""


@pytest.fixture(scope="module")
def prog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("prog")
    (d / "prog.c").write_text(C_SOURCE)
    return compile_c(d / "prog.c", d / "prog", "-O0")


def test_process_function_with_parameters(prog: Path, options: CheckOptions) -> None:
    text = f'probe process("{prog}").function("walk") {{ printf("%d %d\\n", $p->x, $depth) }}'
    assert first_error(text, options) is None
    err = first_error(text.replace("$p->x", "$p->z"), options)
    assert err is not None
    assert err.message == "unable to find member 'z' for struct point (alternatives: x, y, next)"


def test_process_function_not_found_lists_similar(prog: Path, options: CheckOptions) -> None:
    err = first_error(f'probe process("{prog}").function("wakl") {{ print(1) }}', options)
    assert err is not None
    assert err.message.startswith("while resolving probe point: no match (similar functions: walk")


def test_process_statement_by_line(prog: Path, options: CheckOptions) -> None:
    assert first_error(f'probe process("{prog}").statement("walk@prog.c:2") {{ print($depth) }}', options) is None


def test_process_probe_context_in_the_editor(prog: Path, options: CheckOptions) -> None:
    from tapkit.semantic import queries

    text = f'probe process("{prog}").function("walk") {{\n  print($depth)\n}}\n'
    analysis = analyze_text(text, "e.stp", options, editor=True)
    ctx = queries.probe_context_at(analysis, "e.stp", 2, 3)
    assert ctx is not None and ctx.function is not None and ctx.function.name == "walk"
    variables = {v.name: v.c_type for v in queries.context_variables(ctx)}
    assert variables["$p"] == "struct point *"
    assert variables["$depth"] == "int"
    assert variables["$sum"] == "int"


def test_kernel_functions_through_a_btf_override(options: CheckOptions) -> None:
    btf = Path("/sys/kernel/btf/vmlinux")
    if not btf.exists():
        pytest.skip("no kernel BTF here")
    with_btf = CheckOptions(release=options.release, debuginfo=(f"kernel={btf}",))
    assert first_error('probe kernel.function("vfs_read") { print($count) }', with_btf) is None
    assert first_error("probe vfs.read { print(bytes_to_read) }", with_btf) is None
    err = first_error('probe kernel.function("vfs_read") { print($nosuch) }', with_btf)
    assert err is not None and err.message.startswith("unable to find local 'nosuch'")
    assert "(alternatives: $file, $buf, $count, $pos)" in err.message


def test_kernel_functions_fall_back_to_the_running_kernels_btf() -> None:
    """No vmlinux DWARF for the running kernel: points and parameters come from BTF, with one warning that
    stap will want DWARF; a release BTF does not describe keeps stap's missing-debuginfo verdict."""
    import platform

    if not Path("/sys/kernel/btf/vmlinux").exists():
        pytest.skip("no kernel BTF here")
    host = CheckOptions(release=platform.release())
    text = ('probe kernel.function("vfs_read") { print($count) }\n'
            'probe kernel.function("vfs_write").return { print($return) }\n')
    result = check_text(text, "p.stp", host)
    assert result.ok, result.diagnostics
    notes = [d for d in result.diagnostics if d.code == "sem.btf-only"]
    assert len(notes) == 1 and notes[0].span.line == 1
    assert "linux-image-" in notes[0].message and "--debuginfo kernel=" in notes[0].message
    err = first_error('probe kernel.function("vfs_read") { print($nosuch) }', host)
    assert err is not None and err.message.startswith("unable to find local 'nosuch'")
    assert "BTF lists parameters only" in err.message
    err = first_error('probe kernel.function("vfs_raed") { print(1) }', host)
    assert err is not None and "no match" in err.message and "vfs_read" in err.message
    other = first_error('probe kernel.function("vfs_read") { print($count) }', CheckOptions(release=stap_release()))
    if stap_release() != platform.release():
        assert other is not None and "missing x86_64 kernel/module debuginfo" in other.message
