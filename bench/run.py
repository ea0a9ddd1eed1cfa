"""Handler throughput: tapkit's compiled handlers against the same work under `stap --runtime=bpf`, one run.

    .venv/bin/python bench/run.py [--runs 5] [--events 200000] [--markdown]

Three handler shapes (the ones tests/runtime/throughput.py hand-writes):
  counter      counts[i & 15]++                              (a counter in an array)
  aggregate    lat <<< i % 1000, then @count/@avg (+ @hist_log)  (aggregate + histogram)
  formatting   printf("%s(%d) %x\\n", name, i, i)            (string formatting, to /dev/null)

Two measurements:
  loop   the handler body N times in a begin probe, as a whole `tapkit run` / `stapbpf` process; the
         fixed cost (startup, compile, load) is removed by also running N/10 and taking the slope:
         events/s = (N - N/10) / (t(N) - t(N/10)). stapbpf runs begin probes in its own interpreter.
  hit    tapkit only: the compiled `probe timer.profile { body }` handler fired N times through the
         session's per-hit protocol (state check, context reset, error epilogue) -- what every event
         of any source costs.
The two tools alternate within each round so they share the machine's load; figures are medians.
stapbpf cannot print a histogram, so its aggregate shape stops at @count/@avg (noted in the table).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SHAPES: dict[str, tuple[str, str, str]] = {
    # name: (globals, loop body, end-probe body)
    "counter": ("global counts", "counts[i & 15]++", 'printf("%d\\n", counts[3])'),
    "aggregate": ("global lat", "lat <<< i % 1000", 'printf("%d %d\\n", @count(lat), @avg(lat))'),
    "formatting": ("global name = \"bench\"", 'printf("%s(%d) %x\\n", name, i, i)', ""),
}
HIST = "print(@hist_log(lat))"


def loop_script(shape: str, n: int, hist: bool) -> str:
    glob, body, end = SHAPES[shape]
    tail = f"{end}\n  {HIST}" if hist and shape == "aggregate" else end
    return (f"{glob}\nprobe begin {{\n  for (i = 0; i < {n}; i++) {body}\n  exit()\n}}\n"
            f"probe end {{\n  {tail}\n}}\n")


def hit_script(shape: str) -> str:
    glob, body, end = SHAPES[shape]
    body = body.replace("i & 15", "cpu() & 15").replace("i % 1000", "gettimeofday_ns() % 1000").replace(
        "name, i, i", "execname(), pid(), tid()")
    tail = f"{end}\n  {HIST}" if shape == "aggregate" else end
    return f"{glob}\nprobe timer.profile {{ {body} }}\nprobe end {{\n  {tail}\n}}\n"


# ---- tapkit ----

def tapkit_loop_seconds(script: str) -> float:
    """Wall time of `tapkit run` (its whole process), output to /dev/null."""
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "tapkit.cli", "run", "-D", "MAXACTION=2000000000", "-e", script],
                       stdout=null, stderr=subprocess.PIPE, check=True)
        return time.perf_counter() - start


def tapkit_hits_per_second(shape: str, hits: int) -> float:
    from tapkit.runtime.compiler import compile_program
    from tapkit.runtime.session import Session
    from tapkit.semantic.check import check_text

    analysis = check_text(hit_script(shape)).analysis
    assert analysis is not None and analysis.ok
    program = compile_program(analysis)
    session = Session(io.BytesIO(), io.StringIO())
    handlers = program.instantiate(session)
    timer = next(s for s in program.sites if s.family in ("timer", "perf"))
    handler, point = handlers[timer.index], timer.point
    session.begin([])
    run = session.run_probe
    start = time.perf_counter()
    for _ in range(hits):
        run(handler, point)
    elapsed = time.perf_counter() - start
    session.shutdown([(handlers[s.index], s.point) for s in program.sites if s.family == "end"])
    return hits / elapsed


# ---- stapbpf ----

def stapbpf_loop_seconds(script: str) -> float | None:
    from tests.runtime.stapbpf import compile_bpf, shim_path

    try:
        obj = compile_bpf(script)
    except RuntimeError:
        return None
    env = dict(os.environ, LD_PRELOAD=str(shim_path()))
    with open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.run(["stapbpf", str(obj)], stdout=null, stderr=subprocess.PIPE, env=env, timeout=600)
        elapsed = time.perf_counter() - start
    return elapsed if proc.returncode == 0 else None


def slope(t_big: float, t_small: float, n_big: int, n_small: int) -> float:
    return (n_big - n_small) / max(t_big - t_small, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--events", type=int, default=200_000, help="loop iterations (N) and hits per run")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    from tests.runtime.stapbpf import stapbpf_status

    bpf_reason = stapbpf_status()
    n, small = args.events, args.events // 10
    rows = []
    for shape in SHAPES:
        tk_big, tk_small, bpf_big, bpf_small, hits = [], [], [], [], []
        for _ in range(args.runs):
            tk_big.append(tapkit_loop_seconds(loop_script(shape, n, hist=True)))
            if bpf_reason is None:
                b = stapbpf_loop_seconds(loop_script(shape, n, hist=False))
                if b is not None:
                    bpf_big.append(b)
            tk_small.append(tapkit_loop_seconds(loop_script(shape, small, hist=True)))
            if bpf_reason is None:
                b = stapbpf_loop_seconds(loop_script(shape, small, hist=False))
                if b is not None:
                    bpf_small.append(b)
            hits.append(tapkit_hits_per_second(shape, n))
        tk_rate = slope(statistics.median(tk_big), statistics.median(tk_small), n, small)
        bpf_rate = (slope(statistics.median(bpf_big), statistics.median(bpf_small), n, small)
                    if bpf_big and bpf_small else None)
        rows.append((shape, tk_rate, bpf_rate, statistics.median(hits)))
    print(f"events N={n} (and N/10 for the fixed cost), {args.runs} runs, medians")
    if bpf_reason is not None:
        print(f"stapbpf not measured: {bpf_reason}")
    header = "| shape | tapkit loop (events/s) | stapbpf loop (events/s) | tapkit / stapbpf | tapkit per hit (hits/s) |"
    print(header)
    print("|---|---:|---:|---:|---:|")
    for shape, tk, bpf, hit in rows:
        ratio = f"{tk / bpf:.2f}x" if bpf else "-"
        bpf_text = f"{bpf:,.0f}" if bpf else "-"
        print(f"| {shape} | {tk:,.0f} | {bpf_text} | {ratio} | {hit:,.0f} |")


if __name__ == "__main__":
    main()
