"""Python source being written: indented lines, unique names, and module-level constants.

The compiled program is one factory function whose body defines the globals, the constants (stap's
`near` token texts, compiled printf formats) and one nested function per probe and script function;
the Emitter collects those pieces and hands out names that cannot collide with each other.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

_IDENT = re.compile(r"[^0-9A-Za-z_]")


def py_ident(text: str) -> str:
    """A Python identifier fragment made from script text."""
    out = _IDENT.sub("_", text)
    return out if out and not out[0].isdigit() else f"_{out}"


class Names:
    """Unique Python names for one scope, from readable stems."""

    def __init__(self, taken: set[str] | None = None) -> None:
        self.taken: set[str] = set(taken or ())

    def fresh(self, stem: str) -> str:
        base = py_ident(stem)
        name, n = base, 1
        while name in self.taken:
            n += 1
            name = f"{base}_{n}"
        self.taken.add(name)
        return name


class Lines:
    """Indented source lines."""

    def __init__(self, indent: int = 0) -> None:
        self.lines: list[str] = []
        self.level = indent

    def add(self, text: str) -> None:
        self.lines.append("    " * self.level + text)

    def extend(self, other: Lines) -> None:
        self.lines.extend("    " * self.level + line for line in other.lines)

    @contextmanager
    def indented(self) -> Iterator[None]:
        self.level += 1
        start = len(self.lines)
        try:
            yield
        finally:
            if len(self.lines) == start:
                self.add("pass")
            self.level -= 1

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


class Constants:
    """Module-level constants: one name per distinct value, defined before any function."""

    def __init__(self, names: Names) -> None:
        self.names = names
        self._by_value: dict[tuple[str, str], str] = {}
        self.lines: list[str] = []

    def value(self, stem: str, source: str) -> str:
        """A name bound to the Python expression `source` (shared by equal expressions)."""
        key = (stem, source)
        name = self._by_value.get(key)
        if name is None:
            name = self._by_value[key] = self.names.fresh(stem)
            self.lines.append(f"{name} = {source}")
        return name

    def string(self, stem: str, text: str) -> str:
        return self.value(stem, repr(text))
