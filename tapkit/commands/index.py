"""`tapkit index FILE|MODULE`: build (or reuse) the debuginfo index and summarize it.

Also the options and loading shared by `tapkit ptype` and `tapkit funcs`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo, DebuginfoSource

HELP = "index the types and functions of a file, kernel module or the kernel (DWARF or BTF)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="FILE|MODULE",
                        help='a file, "kernel", "kernel:NAME", module("NAME") or process("PATH")')
    parser.add_argument("--force", action="store_true", help="index again even when a cached index matches")
    parser.add_argument("--jobs", type=int, default=None, help="processes to index with (default: 2 for big files)")
    add_source_arguments(parser)


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-r", "--release", metavar="RELEASE", help="kernel release to look up (default: the host's)")
    parser.add_argument("--debuginfo", action="append", default=[], metavar="[NAME=]PATH",
                        help="use PATH as the debuginfo of module NAME (or of whatever is asked); repeatable")
    parser.add_argument("--json", action="store_true", help="print data as JSON")


def overrides(args: argparse.Namespace) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in args.debuginfo:
        name, sep, path = item.partition("=")
        if sep and name and "/" not in name:
            out[name.replace("-", "_")] = path
        else:
            out["*"] = item
    return out


def load(spec: str, args: argparse.Namespace, force: bool = False, jobs: int | None = None
         ) -> tuple[Debuginfo, DebuginfoSource]:
    """Resolve and open spec with a progress bar on stderr while indexing (raises DebuginfoError)."""
    from tapkit.debuginfo import open_debuginfo, resolve

    source = resolve(spec, release=args.release, overrides=overrides(args))
    with _progress(f"indexing {source.module}") as progress:
        info = open_debuginfo(source.path, module=source.module, progress=progress, force=force, jobs=jobs)
    return info, source


class _progress:
    """A rich progress bar on stderr, started on the first report (a cached index shows nothing)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not sys.stderr.isatty():
            return None
        return self.report

    def report(self, done: int, total: int) -> None:
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self.bar.start()
            self.task = self.bar.add_task(self.label, total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def error(message: str) -> int:
    print(f"tapkit: error: {message}", file=sys.stderr)
    return 1


def run(args: argparse.Namespace) -> int:
    from tapkit.debuginfo import DebuginfoError

    started = time.perf_counter()
    try:
        info, source = load(args.target, args, force=args.force, jobs=args.jobs)
    except DebuginfoError as exc:
        return error(str(exc))
    elapsed = time.perf_counter() - started
    meta = info.meta
    kinds = info.kind_counts()
    summary = {
        "module": info.module, "file": info.file, "binary": source.binary, "format": info.source,
        "build_id": info.build_id, "arch": meta.get("arch"), "units": meta.get("units"),
        "types": meta.get("types"), "structs": kinds.get("struct", 0), "unions": kinds.get("union", 0),
        "enums": kinds.get("enum", 0), "typedefs": kinds.get("typedef", 0), "functions": meta.get("functions"),
        "variables": meta.get("variables"), "index": str(info.db_path),
        "index_seconds": meta.get("index_seconds"), "seconds": round(elapsed, 3),
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    where = f"{info.file}" + (f" (for {source.binary})" if source.binary else "")
    print(f"{info.module}: {where}")
    print(f"  {info.source.upper()}, build-id {info.build_id or 'none'}, {meta.get('arch') or 'arch unknown'}")
    units = f"{summary['units']} compile units, " if summary["units"] else ""
    print(f"  {units}{summary['types']} types ({summary['structs']} structs, {summary['unions']} unions, "
          f"{summary['enums']} enums, {summary['typedefs']} typedefs), {summary['functions']} functions, "
          f"{summary['variables']} globals")
    print(f"  index {info.db_path} (built in {meta.get('index_seconds')} s; this run {elapsed:.2f} s)")
    return 0
