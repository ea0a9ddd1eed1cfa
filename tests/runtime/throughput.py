"""The three handler shapes bench/run.py measures, written as the compiler should emit them.

    probe timer.profile { counts[execname()]++ }                          # counter
    probe timer.profile { lat <<< gettimeofday_ns() % 1000; }             # aggregate + histogram
    probe end { print(@hist_log(lat)) }
    probe timer.profile { printf("%s(%d) %s\\n", execname(), pid(), sprintf("%x", n++)) }  # formatting

`python -m tests.runtime.throughput` prints hits per second for each, with the per-hit
session protocol (state check, context reset, error epilogue) included.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable

from tapkit.runtime import LOG_HIST, LongArray, Session, Stat, compile_format, hist_text
from tapkit.runtime.context import Context
from tapkit.runtime.errors import ActionLimitError

W_COUNTS = "identifier 'counts' at bench.stp:1:24"


def counter(session: Session) -> Callable[[Context], None]:
    counts = LongArray()
    add = counts.add

    def probe_0(ctx: Context) -> None:
        ctx.actionremaining -= 1
        if ctx.actionremaining <= 0:
            raise ActionLimitError(W_COUNTS)
        add(ctx.task.execname, 1, W_COUNTS)

    return probe_0


def aggregate(session: Session) -> tuple[Callable[[Context], None], Callable[[Context], None]]:
    lat = Stat(LOG_HIST)
    record = lat.add
    clock = time.time_ns

    def probe_0(ctx: Context) -> None:
        ctx.actionremaining -= 1
        if ctx.actionremaining <= 0:
            raise ActionLimitError()
        record(clock() % 1000)

    def end(ctx: Context) -> None:
        session.write(hist_text(lat, "identifier 'print' at bench.stp:3:17"))

    return probe_0, end


def formatting(session: Session) -> Callable[[Context], None]:
    line = compile_format("%s(%d) %s\n", stream=True)
    hexa = compile_format("%x", stream=False)
    write = session.write
    n = [0]

    def probe_0(ctx: Context) -> None:
        ctx.actionremaining -= 1
        if ctx.actionremaining <= 0:
            raise ActionLimitError()
        task = ctx.task
        v = n[0]
        n[0] = v + 1
        write(line(task.execname, task.pid, hexa(v)))

    return probe_0


def hits_per_second(handler: Callable[[Context], None], session: Session, hits: int) -> float:
    run = session.run_probe
    start = time.perf_counter()
    for _ in range(hits):
        run(handler, "timer.profile")
    return hits / (time.perf_counter() - start)


def measure(hits: int = 200_000) -> dict[str, float]:
    results: dict[str, float] = {}
    for name in ("counter", "aggregate", "formatting"):
        session = Session(io.BytesIO(), io.StringIO())
        session.begin([])
        ends: list[tuple[Callable[[Context], None], str]] = []
        if name == "counter":
            handler = counter(session)
        elif name == "aggregate":
            handler, end = aggregate(session)
            ends.append((end, "end"))
        else:
            handler = formatting(session)
        results[name] = hits_per_second(handler, session, hits)
        session.shutdown(ends)
    return results


if __name__ == "__main__":
    for shape, rate in measure().items():
        print(f"{shape:11s} {rate / 1e6:6.2f} M hits/s")
