"""`tapkit parse FILE…`: pass 1 (lexer, preprocessor, grammar) with stap's verdicts and messages."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "parse SystemTap scripts and tapset files (stap's pass 1) and report syntax errors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", metavar="FILE", help=".stp script, tapset file or .stpm macro file")
    parser.add_argument("-I", dest="include", action="append", default=[], metavar="DIR",
                        help="extra tapset directory (its .stpm macros become visible, as with stap -I)")
    parser.add_argument("-r", dest="release", metavar="RELEASE",
                        help="kernel release for %%( kernel_v … %%) conditions (default: the host's)")
    parser.add_argument("-a", dest="arch", metavar="ARCH", help="architecture for %%( arch … %%) (default: host)")
    parser.add_argument("--kernel-config", metavar="FILE", help="kernel .config for CONFIG_* conditions")
    parser.add_argument("-g", "--guru", action="store_true", help="guru mode: allow embedded C in scripts")
    parser.add_argument("--library", action="store_true",
                        help="parse every FILE as a tapset file (default: files under a tapset directory are)")
    parser.add_argument("--json", action="store_true", help="print diagnostics as JSON")
    parser.add_argument("--dump", action="store_true", help="print each file's syntax tree")


def _is_library_file(path: Path, roots: list[Path]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(r) for r in roots)


def run(args: argparse.Namespace) -> int:
    from tapkit.diagnostics import format_diagnostic
    from tapkit.syntax.dump import dump
    from tapkit.syntax.library import (
        collect_library_macros,
        library_files,
        read_source,
        system_tapset_dir,
    )
    from tapkit.syntax.parser import parse, parse_library_macros
    from tapkit.target import Target, normalize_arch

    for d in args.include:
        if not Path(d).is_dir():
            print(f"tapkit parse: -I {d}: not a directory", file=sys.stderr)
            return 2
    kwargs: dict[str, object] = {"guru_mode": args.guru}
    if args.release:
        kwargs["release"] = args.release
    if args.arch:
        kwargs["arch"] = normalize_arch(args.arch)
    if args.kernel_config:
        if not Path(args.kernel_config).is_file():
            print(f"tapkit parse: --kernel-config {args.kernel_config}: no such file", file=sys.stderr)
            return 2
        kwargs["kernel_config_file"] = args.kernel_config
    target = Target(**kwargs)  # type: ignore[arg-type]

    lib = library_files(target, args.include, scripts=False)  # the macros are all pass 1 of one file needs
    macros = collect_library_macros(lib.macro_files, target)
    roots = [system_tapset_dir().resolve()] + [Path(d).resolve() for d in args.include]

    all_diags: list[dict[str, object]] = []
    failed = False
    for name in args.files:
        path = Path(name)
        try:
            text = read_source(path)
        except OSError as e:
            print(f"tapkit parse: {name}: {e.strerror or e}", file=sys.stderr)
            return 2
        if name.endswith(".stpm"):
            here = path.resolve()
            known = {k: v for k, v in macros.macros.items() if Path(v.name_token.file).resolve() != here}
            _, diags = parse_library_macros(text, name, target, known)
            tree = None
        else:
            library = args.library or _is_library_file(path, roots)
            result = parse(text, name, target, macros, library=library)
            diags = list(result.diagnostics)
            tree = result.file
        lines = text.splitlines()
        if any(d.is_error for d in diags):
            failed = True
        if args.json:
            all_diags.extend(d.to_json() for d in diags)
        else:
            for d in diags:
                src = lines if d.span.file == name else _lines_of(d.span.file)
                sys.stderr.write(format_diagnostic(d, src))
        if args.dump and tree is not None:
            sys.stdout.write(f"# {name}\n" + dump(tree))
    if args.json:
        print(json.dumps(all_diags, indent=2))
    return 1 if failed else 0


def _lines_of(file: str) -> list[str] | None:
    try:
        return Path(file).read_text(errors="replace").splitlines()
    except OSError:
        return None
