"""Forks are followed (the child keeps its copy of the breakpoints and they are serviced), execs are
re-resolved (probes on the new program go in), shared libraries linked or dlopen'd are probed, and
process.begin/.end fire for each process."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tests.runtime_live.helpers import plain, record_return


def test_fork_child_followed(forker: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = LiveEngine()
    by_pid: Counter[tuple[str, int]] = Counter()

    def count(name: str):  # type: ignore[no-untyped-def]
        return lambda ctx: by_pid.update([(name, ctx.task.pid)])

    engine.add_function(str(forker), "step", count("step"))
    engine.add_function(str(forker), "child_only", count("child_only"))
    steps = record_return(engine, forker, "step")
    begins: list[int] = []
    ends: list[int] = []
    engine.on_process_begin(lambda ctx: begins.append(ctx.task.pid))
    engine.on_process_end(lambda ctx: ends.append(ctx.task.pid))
    result = engine.run([str(forker)])
    out = capfd.readouterr().out
    assert out == plain([str(forker)]).stdout == "child 18\nparent 22 child exit 0\n"
    assert result.exit_code == 0
    parent = engine.context.target
    children = {pid for _, pid in by_pid if pid != parent}
    assert len(children) == 1
    child = children.pop()
    assert by_pid == {("step", parent): 2, ("step", child): 1, ("child_only", child): 1}
    assert sorted(steps) == [1, 11, 21]  # the child's return probe (inherited frame) works too
    assert begins == [parent, child]
    assert sorted(ends) == sorted([parent, child])


def test_exec_reresolved(forker: Path, basic: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    """The forked child execs basic-O2-pie: probes on basic's functions go in after the exec."""
    target = basic["O2-pie"]
    engine = LiveEngine()
    hot: list[int] = []
    engine.add_function(str(target), "hot", lambda ctx: hot.append(ctx.task.pid))
    children: list[int] = []
    engine.add_function(str(forker), "child_only", lambda ctx: children.append(ctx.task.pid))
    execnames: list[str] = []
    engine.on_process_begin(lambda ctx: execnames.append(ctx.task.execname), process=str(target))
    result = engine.run([str(forker), str(target)])
    out = capfd.readouterr().out
    assert result.exit_code == 0
    assert "child exit 3" in out and "hot " in out
    assert len(hot) == 2 and set(hot) == set(children)  # basic ran with argument "2" in the child
    assert execnames == [target.name[:15]]


def test_linked_and_dlopened_library(libraries: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    exe, lib, second = libraries["exe"], libraries["lib"], libraries["dlopen"]
    engine = LiveEngine()
    linked: list[int] = []
    opened: list[int] = []
    twice: list[int] = []

    def value(store: list[int]):  # type: ignore[no-untyped-def]
        return lambda ctx: store.append(ctx.regs.rdi & 0xFFFFFFFF)

    engine.add_function(str(lib), "lib_entry", value(linked), process=str(exe))
    engine.add_function(str(second), "lib_entry", value(opened))
    # lib_entry calls lib_twice through the PLT: the dlopen'd copy's call binds to the linked library's
    # lib_twice (the global scope comes first), so that one sees all seven calls
    engine.add_function(str(lib), "lib_twice", value(twice))
    rets = record_return(engine, second, "lib_entry")
    # lib_counter starts with a rip-relative load: its copy must run from a scratch page near each library
    counters = {str(lib): record_return(engine, lib, "lib_counter"),
                str(second): record_return(engine, second, "lib_counter")}
    regions: list[int] = []
    engine.add_function(str(second), "lib_counter", lambda ctx: regions.append(len(ctx.space.regions)))
    result = engine.run([str(exe), str(second)])
    out = capfd.readouterr().out
    assert out == "linked 49\ndlopened 182\n" and result.exit_code == 0
    assert linked == [0, 1, 2]
    assert opened == [0, 1, 2, 3] and twice == [0, 1, 2, 0, 1, 2, 3]
    assert rets == [1, 3, 5, 7]
    assert counters == {str(lib): [40], str(second): [40, 41, 42, 43]}
    assert regions and regions[0] >= 2  # the executable's region, and one near the dlopen'd library


def test_process_filter(libraries: dict[str, Path], forker: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A library probe limited to one executable does not fire in another."""
    exe, lib = libraries["exe"], libraries["lib"]
    engine = LiveEngine()
    hits: list[int] = []
    engine.add_function(str(lib), "lib_entry", lambda ctx: hits.append(1), process=str(forker))
    engine.run([str(exe)])
    capfd.readouterr()
    assert hits == []


def test_thread_context_registers(basic: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    """uaddr() is the probed address; usymname/usymdata name it as stap does."""
    exe = basic["O0-nopie"]
    engine = LiveEngine()
    seen: list[tuple[int, str, str, str | None]] = []

    def hit(ctx: LiveContext) -> None:
        seen.append((ctx.uaddr, ctx.usymname(ctx.uaddr), ctx.usymdata(ctx.uaddr + 1), ctx.umodname(ctx.uaddr)))

    engine.add_function(str(exe), "neg", hit)
    engine.run([str(exe), "1"])
    capfd.readouterr()
    from tapkit.runtime.live.elfimage import ElfImage

    sym = ElfImage.load(str(exe)).by_name["neg"]
    assert seen[0][0] == sym.address  # non-PIE: the link-time address itself
    assert seen[0][1] == "neg"
    assert seen[0][2].startswith("neg+0x1/0x") and seen[0][2].endswith(f" [{exe}]")
    assert seen[0][3] == str(exe)


def test_vfork_spawn(forker: Path, basic: dict[str, Path], capfd: pytest.CaptureFixture[str]) -> None:
    """posix_spawn shares memory with the parent until exec (CLONE_VFORK): both stay intact and probed."""
    target = basic["O0-nopie"]
    engine = LiveEngine()
    steps: list[int] = []
    hot: list[int] = []
    engine.add_function(str(forker), "step", lambda ctx: steps.append(ctx.task.pid))
    engine.add_function(str(target), "hot", lambda ctx: hot.append(ctx.task.pid))
    result = engine.run([str(forker), str(target), "spawn"])
    out = capfd.readouterr().out
    assert result.exit_code == 0
    assert out.endswith("spawned exit 3 total 32\n")
    parent = engine.context.target
    assert steps == [parent, parent]
    assert len(hot) == 2 and parent not in hot
