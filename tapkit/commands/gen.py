"""`tapkit gen TYPE… --module M` and `tapkit gen probes GLOB… --module M`: tapsets from debuginfo.

Types: accessors for every member, Get<T> (one line) and Print<T> (a block) for each struct or union and the
types it embeds. Probes: `PREFIX.FUNC` and `PREFIX.FUNC.return` aliases for the matching functions.
The output starts with the command that regenerates it and is checked before it is written.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tapkit.commands.index import add_source_arguments, error, overrides

if TYPE_CHECKING:
    from pathlib import Path

HELP = "generate tapset code (accessors, Get/Print functions, probe aliases) from debuginfo"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("what", nargs="+", metavar="TYPE|probes GLOB",
                        help='struct/union names ("vcache", "struct dcache", "afs_rwlock_t"); or the word '
                             '"probes" followed by function names or globs')
    parser.add_argument("--module", "-m", default="kernel",
                        help='where the types live: a file, "kernel", module("NAME") or NAME, process("PATH")')
    parser.add_argument("--depth", type=int, default=1,
                        help="named embedded structs an accessor path may cross (default 1)")
    parser.add_argument("--nest", type=int, default=8,
                        help="levels of embedded types that get their own Get/Print (default 8)")
    parser.add_argument("--prefix", default=None,
                        help="types: put before every function name; probes: alias prefix (default: module name)")
    parser.add_argument("-o", "--output", metavar="FILE|DIR/",
                        help="write here (a directory: one file per type named on the command line)")
    parser.add_argument("--exercise", metavar="FILE", help="also write a script that uses everything generated")
    parser.add_argument("--templates", metavar="DIR", help="jinja2 templates that override the built-in ones")
    parser.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR",
                        help="tapset dir the output lives with (lock formatters come from here; checks use it)")
    parser.add_argument("--header", dest="headers", action="append", default=[], metavar="H",
                        help='kernel header stap may compile for the types ("linux/fs.h" -> '
                             '"kernel:kernel<linux/fs.h>")')
    parser.add_argument("--lock", action="append", default=[], metavar="STRUCT=FUNCTION",
                        help="format embedded STRUCT with FUNCTION(addr) (default: afs_lock=AfsLockInfo)")
    parser.add_argument("--compare", action="append", default=[], metavar="FILE",
                        help="probes: another build of the module; parameters it lacks get @defined guards")
    parser.add_argument("--no-return", action="store_true",
                        help="probes: leave out the .return aliases (process targets where stap has no uretprobes)")
    parser.add_argument("--no-check", action="store_true", help="skip tapkit's checks of the output")
    parser.add_argument("--check-with-stap", action="store_true",
                        help="also run real stap -p2 on the output (command from $TAPKIT_STAP, default stap)")
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tapkit.commands.index import _progress
    from tapkit.debuginfo import DebuginfoError
    from tapkit.diagnostics import format_diagnostic
    from tapkit.gen import GenError, GenRequest, generate

    probes = args.what[0] == "probes"
    what = tuple(args.what[1:] if probes else args.what)
    if probes and not what:
        print("tapkit gen probes: name at least one function or glob", file=sys.stderr)
        return 2
    locks = {"afs_lock": "AfsLockInfo"}
    for item in args.lock:
        struct, sep, func = item.partition("=")
        if not sep or not struct or not func:
            print(f"tapkit gen: --lock wants STRUCT=FUNCTION, got {item!r}", file=sys.stderr)
            return 2
        locks[struct.removeprefix("struct ").strip()] = func.strip()
    stap = shlex.split(os.environ.get("TAPKIT_STAP", "stap")) if args.check_with_stap else None
    request = GenRequest(
        what=what, module=args.module, probes=probes, release=args.release, overrides=overrides(args),
        depth=args.depth, nest=args.nest, prefix=args.prefix, output=args.output, templates=args.templates,
        include_dirs=tuple(args.include_dirs), headers=tuple(args.headers), lock_formatters=locks,
        compare=tuple(args.compare), returns=not args.no_return, command=command_line(canonical_argv(args)),
        check=not args.no_check, check_with_stap=tuple(stap) if stap else None)
    try:
        with _progress(f"indexing {args.module}") as progress:
            result = generate(request, progress)
    except (GenError, DebuginfoError) as exc:
        return error(str(exc))
    if not result.verdict.ok:
        texts = {o.path or "<stdout>": o.text for o in result.outputs}
        for d in result.diagnostics:
            print(format_diagnostic(d, texts.get(d.span.file, "").splitlines() or None), file=sys.stderr)
        print("tapkit gen: the generated code did not pass its checks; nothing was written", file=sys.stderr)
        return 1
    from tapkit.gen.render import write_text

    for o in result.outputs:
        if o.path is None:
            sys.stdout.write(o.text)
        elif write_text(_file(o.path), o.text):
            print(f"wrote {o.path}", file=sys.stderr)
    if args.exercise and write_text(_file(args.exercise), result.exercise):
        print(f"wrote {args.exercise}", file=sys.stderr)
    if result.verdict.ran:
        print(f"checked: {', '.join(result.verdict.ran)}", file=sys.stderr)
    return 0


def _file(path: str) -> Path:
    from pathlib import Path

    return Path(path)


def canonical_argv(args: argparse.Namespace) -> list[str]:
    """The arguments in one fixed order, defaults left out: the header reads the same however it was typed."""
    argv = ["gen", *args.what, "--module", args.module]
    for flag, value, default in (("--depth", args.depth, 1), ("--nest", args.nest, 8), ("--prefix", args.prefix, None),
                                 ("-r", args.release, None), ("--templates", args.templates, None)):
        if value != default:
            argv += [flag, str(value)]
    for flag, values in (("--debuginfo", args.debuginfo), ("-I", args.include_dirs), ("--header", args.headers),
                         ("--lock", args.lock), ("--compare", args.compare)):
        for v in values:
            argv += [flag, v]
    if args.no_return:
        argv.append("--no-return")
    if args.output:
        argv += ["-o", args.output]
    if args.exercise:
        argv += ["--exercise", args.exercise]
    return argv


def command_line(argv: Sequence[str]) -> str:
    """The command as a shell line: `tapkit ARGS`, with the home directory written as "$HOME"."""
    home = os.path.expanduser("~").rstrip("/")
    words = ["tapkit"]
    for arg in argv:
        if home and home != "/" and home in arg:
            words.append('"' + arg.replace(home, "$HOME").replace('"', '\\"') + '"')
        else:
            words.append(shlex.quote(arg))
    return " ".join(words)
