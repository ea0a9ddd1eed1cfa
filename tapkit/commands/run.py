"""`tapkit run FILE [ARGS…]`: execute a script -- the builtin engine (begin/end/timer, replay fixtures) or stap."""

from __future__ import annotations

import argparse
import os
import sys

HELP = "run a SystemTap script: tapkit's own engine (begin/end/timer probes, --replay fixtures) or stap"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("script", nargs="?", metavar="FILE", help="the script (or use -e SCRIPT)")
    parser.add_argument("args", nargs=argparse.REMAINDER, metavar="ARG", help="script arguments ($1, @1, …)")
    parser.add_argument("-e", dest="text", metavar="SCRIPT", help="run the given script text")
    parser.add_argument("-I", dest="include", action="append", default=[], metavar="DIR", help="extra tapset directory")
    parser.add_argument("-r", dest="release", metavar="RELEASE", help="kernel release to check (and build) for")
    parser.add_argument("-g", "--guru", action="store_true", help="guru mode (target writes, embedded C for stap)")
    parser.add_argument("-c", dest="command", metavar="CMD", help="start CMD after begin probes; end when it exits")
    parser.add_argument("-x", dest="pid", type=int, metavar="PID", help="set target() to PID")
    parser.add_argument("-m", dest="module", metavar="NAME", help="module name (stap engine)")
    parser.add_argument("-p", dest="last_pass", type=int, choices=range(1, 6), default=5, metavar="N",
                        help="stop after pass N (1 parse, 2 check, 3 print the compiled Python, 4 compile, 5 run); "
                             "with --engine stap, stap's passes (-p4 -r RELEASE -m NAME builds a module)")
    parser.add_argument("-D", dest="defines", action="append", default=[], metavar="NAME=VALUE",
                        help="runtime limit, e.g. MAXACTION=100, MAXMAPENTRIES=10, MAXERRORS=3, MAXNESTING=5")
    parser.add_argument("-G", dest="globals", action="append", default=[], metavar="NAME=VALUE",
                        help="initial value of a scalar global")
    parser.add_argument("-o", dest="output", metavar="FILE", help="write the script's output to FILE")
    parser.add_argument("-w", dest="no_warnings", action="store_true", help="do not print pass-2 warnings")
    parser.add_argument("--debuginfo", action="append", default=[], metavar="PATH",
                        help="a file with DWARF for a module (NAME=PATH), repeatable")
    parser.add_argument("--replay", metavar="FILE.yaml", help="fire probes from a replay fixture (recorded hits)")
    parser.add_argument("--engine", choices=("builtin", "stap", "auto"), default="auto",
                        help="builtin: tapkit's compiler and runtime; stap: hand the script to SystemTap; "
                             "auto: stap when it can run the script on this host, else builtin")
    parser.add_argument("--stap", metavar="PATH", default=os.environ.get("TAPKIT_STAP"),
                        help="the stap executable (default: $TAPKIT_STAP, else stap on PATH)")


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        name, eq, value = v.partition("=")
        if not name:
            raise ValueError(f"{flag} {v}: expected NAME=VALUE")
        out[name] = value if eq else "1"
    return out


def run(args: argparse.Namespace) -> int:
    import shlex
    from pathlib import Path

    if args.text is None and args.script is None:
        print("tapkit run: give a script FILE or -e SCRIPT", file=sys.stderr)
        return 2
    script_args = list(args.args)
    if args.text is not None and args.script is not None:
        script_args.insert(0, args.script)  # with -e, every word is an argument
        args.script = None
    if script_args and script_args[0] == "--":
        script_args = script_args[1:]
    if args.script is not None and not Path(args.script).is_file():
        print(f"tapkit run: {args.script}: no such file", file=sys.stderr)
        return 2
    for d in args.include:
        if not Path(d).is_dir():
            print(f"tapkit run: -I {d}: not a directory", file=sys.stderr)
            return 2
    try:
        defines = _pairs(args.defines, "-D")
        globals_ = _pairs(args.globals, "-G")
    except ValueError as exc:
        print(f"tapkit run: {exc}", file=sys.stderr)
        return 2
    if args.replay is not None and not Path(args.replay).is_file():
        print(f"tapkit run: --replay {args.replay}: no such file", file=sys.stderr)
        return 2

    from tapkit.runtime.stapengine import StapRequest, choose_engine, run_stap

    engine = choose_engine(args.engine, args.stap, replay=args.replay is not None, last_pass=args.last_pass,
                           module=args.module)
    if isinstance(engine, str):
        print(f"tapkit run: {engine}", file=sys.stderr)
        return 2
    if engine.use_stap:
        return run_stap(StapRequest(stap=engine.stap, script=args.script, text=args.text, args=script_args,
                                    include_dirs=args.include, release=args.release, guru=args.guru,
                                    command=args.command, pid=args.pid, module=args.module, last_pass=args.last_pass,
                                    defines=args.defines, globals=args.globals, output=args.output,
                                    no_warnings=args.no_warnings))

    from tapkit.runtime.runner import RunRequest, run_script

    out = open(args.output, "wb") if args.output else None  # noqa: SIM115 -- closed below
    try:
        return run_script(RunRequest(
            path=args.script, text=args.text, args=script_args, include_dirs=args.include, release=args.release,
            guru=args.guru, defines=defines, globals=globals_,
            command=shlex.split(args.command) if args.command else None, target_pid=args.pid,
            last_pass=args.last_pass, debuginfo=args.debuginfo, replay=args.replay, warnings=not args.no_warnings,
            out=out))
    finally:
        if out is not None:
            out.close()
