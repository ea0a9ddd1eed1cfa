"""C spellings and sizes of interned type records (builder.TypeTable), computed once at index time.

A spelling is a declaration with "@" where the declared name goes: "char @[16]",
"int (*@)(int, const char *)", "struct inode *@". Spell without a name by dropping the "@".
"""

from __future__ import annotations

from collections.abc import Sequence

from tapkit.debuginfo.builder import Record

PLACEHOLDER = "@"
_MAX_DEPTH = 64  # deeper chains only come from damaged input


class Spellings:
    """Spelling and size of every record of one table, each computed once from its target's.

    A spelling composes by substituting the placeholder: a pointer to T is T's spelling with
    "@" -> "*@" ("(*@)" when T is an array or function), an array of T is "@" -> "@[n]", a
    function returning T is "@" -> "@(params)", a const pointer is "@" -> "const @".
    """

    def __init__(self, records: Sequence[Record]) -> None:
        self.records = records
        self._spelled: dict[int, str] = {}
        self._sizes: dict[int, int | None] = {}

    def spell(self, gid: int, depth: int = 0) -> str:
        got = self._spelled.get(gid)
        if got is None:
            got = self._spell(gid, depth)
            self._spelled[gid] = got
        return got

    def _spell(self, gid: int, depth: int) -> str:
        records = self.records
        if depth > _MAX_DEPTH or not 0 <= gid < len(records):
            return f"<type {gid}> {PLACEHOLDER}"
        rec = records[gid]
        kind = rec[0]
        if kind == "void":
            return f"void {PLACEHOLDER}"
        if kind in ("base", "typedef"):
            return f"{rec[1] or '<anonymous>'} {PLACEHOLDER}"
        if kind in ("struct", "union", "enum"):
            return f"{kind} {rec[1]} {PLACEHOLDER}" if rec[1] else f"{kind} {{...}} {PLACEHOLDER}"
        if kind == "pointer":
            target = records[rec[1]][0] if 0 <= rec[1] < len(records) else "void"
            declarator = f"(*{PLACEHOLDER})" if target in ("array", "function") else f"*{PLACEHOLDER}"
            return self.spell(rec[1], depth + 1).replace(PLACEHOLDER, declarator)
        if kind == "qualified":
            target = rec[2]
            inner = self.spell(target, depth + 1)
            if 0 <= target < len(records) and records[target][0] == "pointer":
                return inner.replace(PLACEHOLDER, f"{rec[1]} {PLACEHOLDER}")
            return f"{rec[1]} {inner}"
        if kind == "array":
            count = "" if rec[2] is None else str(rec[2])
            return self.spell(rec[1], depth + 1).replace(PLACEHOLDER, f"{PLACEHOLDER}[{count}]")
        if kind == "function":
            params = [type_name(self.spell(t, depth + 1)) for _, t in rec[2]]
            if rec[3]:
                params.append("...")
            declarator = f"{PLACEHOLDER}({', '.join(params) or 'void'})"
            return self.spell(rec[1], depth + 1).replace(PLACEHOLDER, declarator)
        return f"<{kind}> {PLACEHOLDER}"

    def sizeof(self, gid: int, depth: int = 0) -> int | None:
        """Byte size; None for void, functions, and incomplete types."""
        if gid in self._sizes:
            return self._sizes[gid]
        size = self._sizeof(gid, depth)
        self._sizes[gid] = size
        return size

    def _sizeof(self, gid: int, depth: int) -> int | None:
        records = self.records
        if depth > _MAX_DEPTH or not 0 <= gid < len(records):
            return None
        rec = records[gid]
        kind = rec[0]
        if kind in ("base", "pointer"):
            return int(rec[2])
        if kind in ("struct", "union", "enum"):
            return int(rec[2]) if rec[5] else None
        if kind in ("typedef", "qualified"):
            return self.sizeof(rec[2], depth + 1)
        if kind == "array":
            element = self.sizeof(rec[1], depth + 1)
            return None if element is None else element * (rec[2] or 0)
        return None


def type_name(spelling: str) -> str:
    """The spelling with no declarator name: "char[16]", "struct inode *", "int (*)(int)"."""
    return spelling.replace(PLACEHOLDER, "").replace(" )", ")").replace(" [", "[").strip()


def columns(spelling: str, name: str) -> tuple[str, str]:
    """Split a spelling the way pahole prints a member: (type column, name column).

    "struct inode *@" -> ("struct inode *", name); "char @[16]" -> ("char", "name[16]");
    "int (*@)(int)" -> ("int", "(*name)(int)").
    """
    prefix, _, suffix = spelling.partition(PLACEHOLDER)
    paren = prefix.find("(")
    if paren >= 0:
        return prefix[:paren].rstrip(), prefix[paren:] + name + suffix
    return prefix.rstrip(), name + suffix
