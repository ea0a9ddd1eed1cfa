"""The conformance suite's cases: tests/run/conformance/<group>/<name>.stp with its expected results.

Beside each script:
  NAME.out    expected stdout, byte for byte (always present)
  NAME.err    expected stderr (absent: stderr must be empty)
  NAME.rc     expected exit status (absent: 0)
  NAME.opts   extra `tapkit run` options, one per line (-D…, -G…, -x…, or `arg: VALUE` for $1…)

The expected files are written from stap's documented behaviour (man stap, stapfuncs/3stap, the
language reference, the runtime's C sources); the scripts run with the script's directory as the
current directory, so messages name the file as `NAME.stp`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent / "conformance"


@dataclass(frozen=True)
class Case:
    path: Path
    out: bytes
    err: str
    rc: int
    options: tuple[str, ...] = ()
    args: tuple[str, ...] = field(default=())

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def load_case(path: Path) -> Case:
    def read(ext: str) -> str | None:
        p = path.with_suffix(ext)
        return p.read_text(encoding="utf-8") if p.exists() else None

    out = path.with_suffix(".out").read_bytes()
    err = read(".err") or ""
    rc = int((read(".rc") or "0").strip())
    options: list[str] = []
    args: list[str] = []
    for line in (read(".opts") or "").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("arg:"):
            args.append(line[4:].strip())
        else:
            options.append(line)
    return Case(path, out, err, rc, tuple(options), tuple(args))


def all_cases() -> list[Case]:
    return [load_case(p) for p in sorted(ROOT.glob("*/*.stp"))]
