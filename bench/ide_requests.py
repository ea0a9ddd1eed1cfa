"""Completion, hover and definition in one process, as `tapkit lsp` answers them, without the server.

    .venv/bin/python bench/ide_requests.py [--script big.stp] [--requests 200] [--dump answers.json]

The same script and positions as bench/lsp_latency.py (its build_script and seeds; --script reads a script
built before, e.g. by that bench), the same preparation as the server (the tapset library, openafs.ko indexed,
the @cast headers, one whole editor model built and dropped, the collector frozen and tuned like lsp/server.py),
then p50/p99 of each tapkit.ide function the handlers call, timed in-process at each position (wall clock, and
the p99 of the thread's CPU time, which other work on a shared machine moves less). --dump writes
every answer (hover markdown, definition spans, completion labels and details) so that two versions of the code
can be compared answer by answer; --profile FILE writes a cProfile of the requests.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import re
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "bench")]

import lsp_latency as L  # noqa: E402

from tapkit import ide  # noqa: E402
from tapkit.ide import prepare  # noqa: E402
from tapkit.ide.line_index import Position  # noqa: E402


def answer_of(value: Any) -> Any:
    """A request's answer as plain data, for --dump."""
    if value is None:
        return None
    if isinstance(value, ide.Hover):
        return [value.markdown, str(value.span)]
    if isinstance(value, ide.Completions):
        return [str(value.replace), value.incomplete, [[c.label, c.kind.name, c.detail, c.documentation]
                                                       for c in value.items]]
    if isinstance(value, list):
        return [str(s) for s in value]
    return repr(value)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--script", type=Path, help="the script to open (default: built as bench/lsp_latency.py does)")
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--dump", type=Path, help="write every answer here (JSON)")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the requests here")
    ap.add_argument("--only", help="time only this kind (completion, arrow, hover, definition)")
    args = ap.parse_args()
    from tests.tooling import build_openafs_ko

    ko = build_openafs_ko()
    text = args.script.read_text() if args.script else L.build_script(Path(tempfile.mkdtemp()), ko)
    root = Path(tempfile.gettempdir()) / "tapkit-ide-requests"
    root.mkdir(exist_ok=True)
    uri = (root / "big.stp").as_uri()

    t0 = time.perf_counter()
    ws = ide.Workspace([root], ide.Settings(release=L.RELEASE, debuginfo=(str(ko),)))
    view = ws.load_library()
    ws.index_debuginfo()
    ws.open(uri, text, version=1)
    snap = ws.snapshot()
    files = [*view.semantic.files.macro_files, *view.files] if view.semantic is not None else []
    prepare.prepare(snap.target, prepare.library_header_parts(files) | prepare.header_parts([text]))
    ide.document_diagnostics(snap, uri)  # the server's first diagnostics run comes before any request
    prepare.warm(snap, uri)
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)  # as lsp/server.py
    print(f"script: {text.count(chr(10))} lines; prepared in {time.perf_counter() - t0:.1f} s")

    n = args.requests
    calls = L.positions(text, r"\b[a-z_]+\(", n, 1)
    words = L.positions(text, r"\b[a-z_][a-z_0-9]{3,}\b", n, 2)
    base = len(text) - len(L.AFS_PROBES)
    arrows = [(text.count("\n", 0, m.end()), m.end() - text.rfind("\n", 0, m.end()) - 1)
              for m in re.finditer("->", text) if m.start() >= base]
    arrows = (arrows * (n // max(len(arrows), 1) + 1))[:n]
    kinds: list[tuple[str, Callable[[ide.Snapshot, str, Position], Any], list[tuple[int, int]]]] = [
        ("completion", ide.complete, words), ("arrow", ide.complete, arrows),
        ("hover", ide.hover, calls), ("definition", ide.definition, calls)]
    pauses: list[float] = []  # the collector's passes during the requests
    started: list[float] = []

    def collector(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter()]
        elif started:
            pauses.append(time.perf_counter() - started[0])
    gc.callbacks.append(collector)
    dump: dict[str, list[Any]] = {}
    profile = cProfile.Profile() if args.profile else None
    print(f"{'request':12s} {'n':>5s} {'p50 ms':>8s} {'p99 ms':>8s} {'max ms':>8s} {'cpu p99':>8s}  "
          "slowest (#: ms line:col)")
    for name, fn, where in kinds:
        if args.only and name != args.only:
            continue
        times, cpu, answers = [], [], []
        pauses.clear()
        for line, ch in where:
            pos = Position(line + 1, ch + 1)
            snap = ws.snapshot()
            if profile is not None:
                profile.enable()
            t, c = time.perf_counter(), time.thread_time()
            found = fn(snap, uri, pos)
            times.append(time.perf_counter() - t)
            cpu.append(time.thread_time() - c)
            if profile is not None:
                profile.disable()
            answers.append(answer_of(found))
        dump[name] = answers
        slowest = sorted(range(len(times)), key=lambda i: -times[i])[:4]
        worst = ", ".join(f"#{i + 1}: {1000 * times[i]:.0f} {where[i][0] + 1}:{where[i][1] + 1}" for i in slowest)
        print(f"{name:12s} {len(times):5d} {1000 * L.pct(times, 50):8.1f} {1000 * L.pct(times, 99):8.1f} "
              f"{1000 * max(times):8.1f} {1000 * L.pct(cpu, 99):8.1f}  {worst}; collector: {len(pauses)} passes, "
              f"longest {1000 * max(pauses, default=0):.0f} ms")
    if args.dump:
        args.dump.write_text(json.dumps(dump, indent=0))
    if profile is not None and args.profile:
        profile.dump_stats(str(args.profile))
    return 0


if __name__ == "__main__":
    sys.exit(main())
