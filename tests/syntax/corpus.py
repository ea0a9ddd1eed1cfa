"""The real inputs the syntax tests use: Debian's tapset library and example scripts, and mutants of them."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tapkit.syntax.library import library_files, read_source
from tapkit.syntax.parser import LibraryMacros
from tapkit.syntax.tokens import lex
from tapkit.target import Target
from tests.tooling import missing, stap_release

TAPSET = Path("/usr/share/systemtap/tapset")
EXAMPLES = Path("/usr/share/systemtap/examples")


def require_corpus() -> None:
    if not TAPSET.is_dir() or not EXAMPLES.is_dir():
        missing("SystemTap's tapset library and examples (apt-get install systemtap)")


def stap_target(guru: bool = False) -> Target:
    """The target stap -r RELEASE uses here: Debian's kernel headers, x86_64, kernel runtime."""
    return Target(release=stap_release(), arch="x86_64", guru_mode=guru)


@lru_cache(maxsize=1)
def library_macros() -> LibraryMacros:
    from tapkit.syntax.library import collect_library_macros

    target = stap_target()
    return collect_library_macros(library_files(target, tapset_dir=TAPSET).macro_files, target)


def x86_library() -> tuple[list[Path], list[Path]]:
    files = library_files(stap_target(), tapset_dir=TAPSET)
    return list(files.macro_files), list(files.script_files)


def other_tapset_files() -> list[Path]:
    """Tapset .stp files stap does not read for x86_64/kernel (other arches, bpf, dyninst)."""
    used = {p.resolve() for p in x86_library()[1]}
    return sorted(p for p in TAPSET.rglob("*.stp") if p.resolve() not in used)


_GURU_RE = re.compile(r"^test_(?:check|installcheck)\w*:.*\s(?:-g|--guru-mode)\b", re.M)


@dataclass(frozen=True, slots=True)
class Example:
    path: Path
    guru: bool


def examples() -> list[Example]:
    """Every example script, with -g when its .meta says the example's own tests run it with -g."""
    out = []
    for p in sorted(EXAMPLES.rglob("*.stp")):
        meta = p.with_suffix(".meta")
        guru = meta.is_file() and bool(_GURU_RE.search(meta.read_text(errors="replace")))
        out.append(Example(p, guru))
    return out


# ---------------------------------------------------------------- mutants

@dataclass(frozen=True, slots=True)
class Mutant:
    source: Path
    operation: str
    token_index: int
    text: str

    @property
    def name(self) -> str:
        return f"{self.source.name}:{self.operation}@{self.token_index}"


def _mutate(text: str, rng: random.Random) -> tuple[str, int, str] | None:
    tokens = lex(text, "m").tokens
    if len(tokens) < 2:
        return None
    op = rng.choice(("delete", "duplicate", "swap", "truncate"))
    i = rng.randrange(len(tokens) - 1)
    a, b = tokens[i], tokens[i + 1]
    if op == "delete":
        return text[: a.pos] + text[a.end_pos:], i, op
    if op == "duplicate":
        return text[: a.end_pos] + " " + text[a.pos: a.end_pos] + text[a.end_pos:], i, op
    if op == "swap":
        return text[: a.pos] + text[b.pos: b.end_pos] + text[a.end_pos: b.pos] + text[a.pos: a.end_pos] \
            + text[b.end_pos:], i, op
    return text[: a.end_pos] + "\n", i, op


def mutants(sources: list[Path], count: int, seed: int) -> Iterator[Mutant]:
    rng = random.Random(seed)
    texts = {p: read_source(p) for p in sources}
    made = 0
    while made < count:
        src = rng.choice(sources)
        m = _mutate(texts[src], rng)
        if m is None:
            continue
        text, index, op = m
        made += 1
        yield Mutant(src, op, index, text)
