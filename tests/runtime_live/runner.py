"""A tapkit process for the detach tests: probes functions of a program, started (-c) or attached (-x).

    python -m tests.runtime_live.runner (-x PID | -c CMD ...) --probe EXE:FUNC[:return] ...
        [--stop-after N] [--raise-after N] [--out-of-line yes|no]

Prints "attached" once probes are in, then "hits N status S interrupted I" when the run ends.
"""

from __future__ import annotations

import argparse
import sys

from tapkit.runtime.live import LiveContext, LiveEngine


class Boom(RuntimeError):
    pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-x", type=int)
    parser.add_argument("-c", nargs=argparse.REMAINDER)
    parser.add_argument("--probe", action="append", default=[])
    parser.add_argument("--stop-after", type=int, default=0)
    parser.add_argument("--raise-after", type=int, default=0)
    parser.add_argument("--out-of-line", default="yes")
    args = parser.parse_args(argv)
    engine = LiveEngine(out_of_line=args.out_of_line == "yes")
    count = 0

    def hit(ctx: LiveContext) -> None:
        nonlocal count
        count += 1
        if args.stop_after and count >= args.stop_after:
            engine.stop()
        if args.raise_after and count >= args.raise_after:
            raise Boom(f"callback failed after {count} hits")

    for spec in args.probe:
        exe, func, *kind = spec.split(":")
        engine.add_function(exe, func, hit, kind="return" if kind == ["return"] else "entry")

    def announce(ctx: LiveContext) -> None:
        print("attached", flush=True)

    engine.on_process_begin(announce)
    result = engine.run(args.c, None) if args.c else engine.run(pid=args.x)
    print(f"hits {count} status {result.status} interrupted {result.interrupted_by}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
