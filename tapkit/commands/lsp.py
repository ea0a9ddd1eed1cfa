"""`tapkit lsp`: the language server, over stdio (what editors start) or TCP."""

from __future__ import annotations

import argparse

HELP = "run the SystemTap language server (LSP over stdio, or TCP with --tcp PORT)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stdio", action="store_true", help="talk LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", type=int, metavar="PORT", help="listen on 127.0.0.1:PORT instead of stdio")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on with --tcp (default 127.0.0.1)")


def run(args: argparse.Namespace) -> int:
    if args.tcp is not None and not 0 < args.tcp < 65536:
        print(f"tapkit lsp: --tcp {args.tcp}: not a port number", flush=True)
        return 2
    import importlib

    # lsp/ installs as tapkit_lsp (see pyproject); mypy checks it as the `lsp` folder, so import by name
    server = importlib.import_module("tapkit_lsp.server")
    code: int = server.main(args.tcp, args.host)
    return code
