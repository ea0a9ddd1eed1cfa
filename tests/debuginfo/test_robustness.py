"""Damaged files never crash tapkit: truncated and bit-flipped copies of the fixtures either index
(and then answer queries) or raise DebuginfoError naming the file and what is wrong."""

from __future__ import annotations

import random
import signal
import traceback
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest

from tapkit.debuginfo import DebuginfoError, open_debuginfo
from tapkit.debuginfo.elf import ElfFile
from tapkit.debuginfo.layout import format_layout, struct_layout
from tests.debuginfo.conftest import Builds

TARGETS = (".debug_info", ".debug_abbrev", ".debug_str", ".debug_line", ".debug_line_str", ".debug_loclists",
           ".debug_rnglists", ".debug_loc", ".debug_ranges", ".symtab", ".rela.debug_info", ".note.gnu.build-id",
           ".gnu_debuglink")


def regions(path: Path) -> list[tuple[int, int]]:
    """Byte ranges worth damaging: the ELF and section headers, and the sections the readers use."""
    elf = ElfFile(str(path))
    out = [(0, 64), (elf.shoff, elf.shnum * elf.shentsize)]
    out += [(s.offset, s.size) for s in elf.sections if s.name in TARGETS and s.size]
    elf.close()
    return out


def mutations(data: bytes, spots: list[tuple[int, int]], rng: random.Random, count: int) -> Iterator[bytes]:
    for i in range(count):
        start, size = rng.choice(spots)
        at = start + rng.randrange(max(size, 1))
        if i % 3 == 0:  # truncated inside a header or a section
            yield data[:min(at, len(data) - 1)]
            continue
        damaged = bytearray(data)
        for _ in range(rng.choice((1, 1, 2, 4, 8))):
            spot = min(at + rng.randrange(-16, 17), len(damaged) - 1)
            damaged[max(spot, 0)] ^= 1 << rng.randrange(8)
        yield bytes(damaged)


class Hang(Exception):
    pass


def _alarm(_sig: int, _frame: FrameType | None) -> None:
    raise Hang()


def exercise(path: Path) -> str:
    """Index and query a damaged file; "" when all went fine, else what went wrong."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, 20)
    try:
        info = open_debuginfo(path, force=True)
        for name in info.type_names()[:40]:
            t = info.strip(name.id)
            if t.kind in ("struct", "union"):
                format_layout(struct_layout(info, t.id))
            info.members(name.id)
        for fn in info.functions("*")[:40]:
            for var in (*fn.params, *fn.locals):
                info.stap_type_name(var.type)
        return ""
    except DebuginfoError as exc:
        message = str(exc)
        if not message.startswith(str(path)) and str(path) not in message:
            return f"error does not name the file: {message}"
        if len(message) < len(str(path)) + 10:
            return f"error does not say what is wrong: {message}"
        return ""
    except Hang:
        return "took longer than 20 s"
    except Exception:
        return traceback.format_exc()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def run_campaign(builds: Builds, tmp_path: Path, per_file: dict[str, int], seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    failures: list[str] = []
    cases = errors = 0
    for variant, count in per_file.items():
        original: Path | None = getattr(builds, variant)
        if original is None:
            continue
        data = original.read_bytes()
        spots = [(0, len(data))] if variant == "btf" else regions(original)
        for i, damaged in enumerate(mutations(data, spots, rng, count)):
            path = tmp_path / f"{variant}-{i}"
            path.write_bytes(damaged)
            problem = exercise(path)
            cases += 1
            if problem:
                failures.append(f"{path}: {problem}")
            else:
                try:
                    open_debuginfo(path)
                except DebuginfoError:
                    errors += 1
            path.unlink()
    assert not failures, f"{len(failures)} of {cases} damaged files crashed:\n" + "\n".join(failures[:5])
    return cases, errors


def test_damaged_copies_fail_cleanly(builds: Builds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    cases, errors = run_campaign(builds, tmp_path, {"dw5": 40, "o2": 40, "obj": 30, "btf": 20}, seed=1)
    assert cases >= 110 and errors >= cases // 4  # most damage is detected, not silently accepted


@pytest.mark.slow
def test_a_thousand_damaged_copies_fail_cleanly(builds: Builds, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAPKIT_CACHE_DIR", str(tmp_path / "cache"))
    cases, _ = run_campaign(builds, tmp_path, {"dw5": 300, "dw4": 150, "o2": 250, "obj": 200, "btf": 120}, seed=2)
    assert cases >= 1000
