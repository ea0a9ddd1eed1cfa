"""Threads: every thread's hits are counted (new threads get the breakpoints), with out-of-line execution
and with in-place stepping (other threads stopped); thread begin/end events."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tapkit.runtime.live import LiveContext, LiveEngine
from tests.runtime_live.helpers import counter, record_return


@pytest.mark.parametrize("out_of_line", [True, False])
def test_all_threads_counted(threads: Path, capfd: pytest.CaptureFixture[str], out_of_line: bool) -> None:
    engine = LiveEngine(out_of_line=out_of_line)
    counts = counter(engine, threads, ["work", "checksum"])
    rets = record_return(engine, threads, "checksum")
    tids: Counter[int] = Counter()
    ends: list[int] = []
    engine.on_thread_begin(lambda ctx: tids.update([ctx.task.tid]))
    engine.on_thread_end(lambda ctx: ends.append(ctx.task.tid))
    result = engine.run([str(threads), "4", "500"])
    out = capfd.readouterr().out
    assert out == "threads 4 calls 2000 bad 0\n"
    assert result.exit_code == 0
    assert counts == {"work": 4000, "checksum": 2000}
    assert len(rets) == 2000 and set(rets) == {0, 1} and rets.count(1) == 1000
    assert len(tids) == 4 and all(n == 1 for n in tids.values())
    assert set(tids) <= set(ends) and len(ends) == 5  # the four threads and the main thread


def test_contexts_name_the_thread(threads: Path, capfd: pytest.CaptureFixture[str]) -> None:
    engine = LiveEngine()
    seen: set[tuple[int, int, str]] = set()

    def hit(ctx: LiveContext) -> None:
        seen.add((ctx.task.pid, ctx.task.tid, ctx.task.execname))

    engine.add_function(str(threads), "work", hit)
    result = engine.run([str(threads), "3", "10"])
    capfd.readouterr()
    pids = {pid for pid, _, _ in seen}
    assert pids == {engine.context.target} and result.exit_code == 0
    assert len({tid for _, tid, _ in seen}) == 3
    assert {name for _, _, name in seen} == {"threads"}
