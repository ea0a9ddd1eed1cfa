"""Random SystemTap-ish sources, and the property every one of them must have.

Used by the hypothesis test in the fast suite and by the long one-off run:
    .venv/bin/python -m tests.syntax.fuzzing 100000
"""

from __future__ import annotations

import random
import sys
import time

from tapkit.syntax.ast import File
from tapkit.syntax.parser import ParseResult, parse
from tapkit.syntax.walk import node_at, walk
from tapkit.target import Target

FRAGMENTS = (
    "probe", "global", "private", "function", "if", "else", "for", "foreach", "in", "limit", "return",
    "delete", "while", "break", "continue", "next", "string", "long", "try", "catch",
    "begin", "end", "kernel", ".", "function(\"vfs_read\")", "process(\"/bin/ls\")", "syscall.*", "timer.ms(100)",
    "x", "y", "arr", "$var", "$$vars", "$x$", "$", "@cast", "@var", "@entry", "@defined", "@count", "@sum",
    "@hist_log", "@hist_linear", "@const", "@kregister", "@probewrite", "@perf", "@choose_defined", "@foo",
    "@define", "%(", "%?", "%:", "%)", "kernel_v", ">=", "\"2.6\"", "arch", "==", "\"x86_64\"", "CONFIG_SMP",
    "%{ int x; %}", "print", "printf", "printd", "println", "sprintf", "exit", "(", ")", "[", "]", "{", "}",
    ",", ";", ":", "?", "!", "=", "+=", "<<<", "+", "-", "*", "/", "%", "->", "&", "&&", "||", "|", "^", "~",
    "++", "--", "<<", ">>", "=~", "!~", "<", ">", "0", "1", "42", "0x1f", "077", "08", "99999999999999999999",
    "\"str\"", "\"a\\n\"", "\"unterminated", "$1", "@1", "$#", "@#", "# comment\n", "// comment\n",
    "/* block */", "/** doc */", "\n", "\\", "`", "'", "\u00e9",
)


def random_source(rng: random.Random) -> str:
    n = rng.randint(0, 60)
    parts = []
    for _ in range(n):
        parts.append(rng.choice(FRAGMENTS))
        parts.append(rng.choice((" ", " ", "", "\n", "\t")))
    return "".join(parts)


def check(text: str, library: bool = False, target: Target | None = None) -> ParseResult:
    """The parser's promise: no exception, a File, diagnostics for anything it rejects, sane spans."""
    result = parse(text, "fuzz.stp", target or Target(release="6.1.0-56-amd64", arch="x86_64"), library=library)
    assert isinstance(result.file, File)
    assert result.ok or any(d.is_error for d in result.diagnostics)
    last_line = text.count("\n") + 1
    for d in result.diagnostics:
        assert 1 <= d.span.line <= last_line + 1, d
        assert d.message
    for node in walk(result.file):
        sp = node.span
        assert (sp.line, sp.column) <= (sp.end_line, sp.end_column), node
        assert 1 <= sp.line <= last_line, node
    if result.file.items:
        first = result.file.items[0].span
        assert node_at(result.file, first.line, first.column) is not None
    return result


def main(argv: list[str]) -> int:
    count = int(argv[1]) if len(argv) > 1 else 100_000
    seed = int(argv[2]) if len(argv) > 2 else 1
    rng = random.Random(seed)
    target = Target(release="6.1.0-56-amd64", arch="x86_64")
    start = time.perf_counter()
    accepted = 0
    for i in range(count):
        text = random_source(rng) if i % 4 else "".join(chr(rng.randint(1, 0x7F)) for _ in range(rng.randint(0, 80)))
        try:
            accepted += check(text, library=bool(i % 2), target=target).ok
        except Exception:
            print(f"input {i} (seed {seed}) broke the parser:\n{text!r}", file=sys.stderr)
            raise
    elapsed = time.perf_counter() - start
    print(f"{count} inputs, {accepted} accepted, {count - accepted} with diagnostics, no exception; {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
