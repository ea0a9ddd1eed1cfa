"""`tapkit check FILE…`: passes 1 and 2 with stap's verdicts and messages (what `stap -p2` would say)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "check SystemTap scripts as stap -p2 would (parse, resolve, type-check) and report its errors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help="script to check (each on its own, as stap would)")
    parser.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                        help="extra tapset directory, as with stap -I")
    parser.add_argument("-r", dest="release", metavar="RELEASE",
                        help="kernel release (default: the host's, else the newest with headers in /lib/modules)")
    parser.add_argument("-g", "--guru", action="store_true", help="guru mode: embedded C and target writes allowed")
    parser.add_argument("--debuginfo", action="append", default=[], metavar="PATH",
                        help="a file with DWARF for a module (NAME=PATH, or PATH named by its file), repeatable")
    parser.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    parser.add_argument("-w", dest="no_warnings", action="store_true", help="do not print warnings (as stap -w)")
    parser.add_argument("--arg", dest="script_args", action="append", default=[], metavar="ARG",
                        help="a script argument ($1/@1, then $2/@2, …; what follows the script on stap's command line)")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tapkit.diagnostics import Severity
    from tapkit.semantic.check import CheckOptions, check_script, source_lines
    from tapkit.semantic.report import format_semantic

    for d in args.include:
        if not Path(d).is_dir():
            print(f"tapkit check: -I {d}: not a directory", file=sys.stderr)
            return 2
    for d in args.debuginfo:
        path = d.split("=", 1)[1] if "=" in d and not d.startswith("/") else d
        if not Path(path).is_file():
            print(f"tapkit check: --debuginfo {d}: no such file", file=sys.stderr)
            return 2
    script_args = tuple(args.script_args)
    options = CheckOptions(tuple(args.include), args.release, args.guru, tuple(args.debuginfo), script_args)
    failed = False
    out_json: list[dict[str, object]] = []
    for name in args.files:
        if not Path(name).is_file():
            print(f"tapkit check: {name}: no such file", file=sys.stderr)
            return 2
        result = check_script(name, options)
        failed |= not result.ok
        diags = [d for d in result.diagnostics if not (args.no_warnings and d.severity is Severity.WARNING)]
        if args.json:
            out_json.append({"file": name, "ok": result.ok, "diagnostics": [d.to_json() for d in diags]})
            continue
        lines: dict[str, list[str] | None] = {}
        for d in diags:
            if d.span.file not in lines:
                lines[d.span.file] = source_lines(d.span.file)
            sys.stderr.write(format_semantic(d, lines[d.span.file]))
        if not result.ok:
            stage = result.analysis.stage if result.analysis is not None else "parse"
            sys.stderr.write("Pass 1: parse failed.\n" if stage == "parse" else "Pass 2: analysis failed.\n")
            session = result.analysis.session if result.analysis is not None else None
            if session is not None and session.errors.suppressed:
                sys.stderr.write(f"Number of similar error messages suppressed: {session.errors.suppressed}.\n")
    if args.json:
        print(json.dumps(out_json, indent=2))
    return 1 if failed else 0
