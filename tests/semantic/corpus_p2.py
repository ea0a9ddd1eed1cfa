"""The pass-2 differential corpus: which scripts, with which options, and how they become files to check.

Layout (tests/semantic/corpus/):

* ``examples`` — Debian's example scripts, read in place from /usr/share/systemtap/examples.
  Each gets nine arguments "1" (as in the pass-1 oracle), ``-g`` when its .meta runs it with
  -g, and ``-I <its dir>/tapset`` when its .meta passes ``-Itapset/``.
* ``tapset/`` — library functions called rightly and wrongly (string, math, context, stats …).
* ``lang/`` — begin/end/timer scripts over the whole language; ``lang/tapset/`` is a user
  tapset directory that scripts reach with ``-I tapset``.
* ``process/`` — process("…") probes on the C programs in ``process/c/`` (gcc -g at test time).
* ``openafs/`` — module("openafs") and @cast(…, "kernel:openafs") over the real openafs.ko.

Conventions inside a corpus script:

* Name: ``ok-*.stp`` is written to be accepted by stap -p2, ``bad-*.stp`` to be rejected,
  ``warn-*.stp`` to be accepted with a warning. The slow test checks stap agrees with the name.
* Options: leading comment lines ``# tapkit-test: OPTIONS`` (any number, before the first
  other line). OPTIONS are shell words: ``-g`` (guru mode), ``-I DIR`` (a tapset dir, relative
  to the script's directory), and after ``--`` the script's arguments ($1/@1 …).
* Placeholders: ``@BIN:name@`` is replaced by the path of ``process/c/name.c`` compiled with
  gcc -g; ``@BIN@`` means ``@BIN:inventory@``. Substitution keeps every line where it was,
  so error lines in the materialized copy are the corpus file's lines.

The environment every script is judged in is the same: stap -r <Debian release> with the
real openafs.ko installed (scripts/stap-offline --module), so tapkit gets that release and
the module as debuginfo for every script.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from tapkit.cache import cache_dir
from tests.tooling import compile_c

CORPUS = Path(__file__).resolve().parent / "corpus"
EXAMPLES = Path("/usr/share/systemtap/examples")
C_SOURCES = CORPUS / "process" / "c"
CATEGORIES = ("examples", "tapset", "lang", "process", "openafs")
INTENTS = ("ok", "bad", "warn")
EXAMPLE_ARGS = ("1",) * 9

_HEADER_RE = re.compile(r"^#\s*tapkit-test:(.*)$")
_PLACEHOLDER_RE = re.compile(r"@BIN(?::([A-Za-z0-9_]+))?@")
_META_GURU_RE = re.compile(r"^test_(?:check|installcheck)\w*:.*\s(?:-g\w*|--guru-mode)\b", re.M)
_META_INCLUDE_RE = re.compile(r"^test_check\w*:.*\s-Itapset/", re.M)
DEFAULT_BINARY = "inventory"


class CorpusError(ValueError):
    """A corpus script whose header or placeholders cannot be understood."""


@dataclass(frozen=True, slots=True)
class ScriptOptions:
    guru: bool = False
    include_dirs: tuple[Path, ...] = ()
    args: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CorpusScript:
    category: str
    source: Path
    options: ScriptOptions
    binaries: tuple[str, ...] = ()  # the C programs its placeholders name

    @property
    def name(self) -> str:
        base = EXAMPLES if self.category == "examples" else CORPUS
        return str(self.source.relative_to(base)) if self.source.is_relative_to(base) else str(self.source)

    @property
    def intent(self) -> str | None:
        """ok / bad / warn from the file name; None for Debian's examples."""
        prefix = self.source.name.split("-", 1)[0]
        return prefix if self.category != "examples" and prefix in INTENTS else None


def parse_header(path: Path, text: str) -> ScriptOptions:
    """The ``# tapkit-test:`` lines at the top of a script, as options."""
    guru = False
    include: list[Path] = []
    args: list[str] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        m = _HEADER_RE.match(line)
        if m is None:
            break
        try:
            words = shlex.split(m.group(1))
        except ValueError as e:
            raise CorpusError(f"{path}:{lineno}: bad tapkit-test header: {e}") from None
        i = 0
        while i < len(words):
            w = words[i]
            if w == "--":
                args += words[i + 1:]
                break
            if w == "-g":
                guru = True
            elif w == "-I" and i + 1 < len(words):
                d = (path.parent / words[i + 1]).resolve()
                if not d.is_dir():
                    raise CorpusError(f"{path}:{lineno}: -I {words[i + 1]}: no such directory {d}")
                include.append(d)
                i += 1
            else:
                raise CorpusError(f"{path}:{lineno}: unknown tapkit-test option {w!r} (expected -g, -I DIR, -- ARGS)")
            i += 1
    return ScriptOptions(guru, tuple(include), tuple(args))


def placeholders(path: Path, text: str) -> tuple[str, ...]:
    """The C programs a script's @BIN…@ placeholders name; each must have a source in process/c/."""
    names = sorted({m.group(1) or DEFAULT_BINARY for m in _PLACEHOLDER_RE.finditer(text)})
    for n in names:
        if not (C_SOURCES / f"{n}.c").is_file():
            raise CorpusError(f"{path}: placeholder @BIN:{n}@ has no source {C_SOURCES / n}.c")
    return tuple(names)


def example_options(path: Path) -> ScriptOptions:
    meta = path.with_suffix(".meta")
    text = meta.read_text(errors="replace") if meta.is_file() else ""
    include = (path.parent / "tapset",) if _META_INCLUDE_RE.search(text) else ()
    return ScriptOptions(bool(_META_GURU_RE.search(text)), include, EXAMPLE_ARGS)


def corpus_scripts(categories: tuple[str, ...] = CATEGORIES) -> list[CorpusScript]:
    """Every script of the corpus, examples first, then the written ones by category and name."""
    out: list[CorpusScript] = []
    for cat in categories:
        if cat == "examples":
            out += [CorpusScript(cat, p, example_options(p)) for p in sorted(EXAMPLES.rglob("*.stp"))]
            continue
        for p in sorted((CORPUS / cat).glob("*.stp")):
            text = p.read_text()
            out.append(CorpusScript(cat, p, parse_header(p, text), placeholders(p, text)))
    return out


def build_binaries(names: set[str] | None = None) -> dict[str, Path]:
    """gcc -g each C program of process/c/ (or just `names`) into the oracle cache."""
    out_dir = cache_dir("oracle", "bin")
    sources = sorted(C_SOURCES.glob("*.c"))
    return {s.stem: compile_c(s, out_dir / s.stem, "-O0") for s in sources if names is None or s.stem in names}


def substitute(text: str, binaries: dict[str, Path]) -> str:
    return _PLACEHOLDER_RE.sub(lambda m: str(binaries[m.group(1) or DEFAULT_BINARY]), text)


def materialize(script: CorpusScript, binaries: dict[str, Path]) -> Path:
    """The file stap and tapkit both read: the corpus file itself, or a copy with placeholders filled in."""
    if not script.binaries:
        return script.source
    text = substitute(script.source.read_text(), binaries)
    out = cache_dir("oracle", "scripts", script.category) / script.source.name
    if not out.is_file() or out.read_text() != text:
        out.write_text(text)
    return out
