"""C spellings and sizes of interned type records (builder.TypeTable), computed once at index time.

A spelling is a declaration with "@" where the declared name goes: "char @[16]",
"int (*@)(int, const char *)", "struct inode *@". Spell without a name by dropping the "@".
"""

from __future__ import annotations

from collections.abc import Sequence

from tapkit.debuginfo.builder import Record

PLACEHOLDER = "@"
_MAX_DEPTH = 64  # deeper chains only come from damaged input


def spell(records: Sequence[Record], gid: int, inner: str = PLACEHOLDER, depth: int = 0) -> str:
    if depth > _MAX_DEPTH or not 0 <= gid < len(records):
        return f"<type {gid}> {inner}".rstrip()
    rec = records[gid]
    kind = rec[0]
    if kind == "void":
        return _join("void", inner)
    if kind == "base" or kind == "typedef":
        return _join(rec[1] or "<anonymous>", inner)
    if kind in ("struct", "union", "enum"):
        return _join(f"{kind} {rec[1]}" if rec[1] else f"{kind} {{...}}", inner)
    if kind == "pointer":
        target = records[rec[1]][0] if 0 <= rec[1] < len(records) else "void"
        inner = "*" + inner
        if target in ("array", "function"):
            inner = f"({inner})"
        return spell(records, rec[1], inner, depth + 1)
    if kind == "qualified":
        target = rec[2]
        if 0 <= target < len(records) and records[target][0] == "pointer":
            return spell(records, target, f"{rec[1]} {inner}", depth + 1)
        return f"{rec[1]} " + spell(records, target, inner, depth + 1)
    if kind == "array":
        count = "" if rec[2] is None else str(rec[2])
        return spell(records, rec[1], f"{inner}[{count}]", depth + 1)
    if kind == "function":
        params = [spell(records, t, "", depth + 1).strip() for _, t in rec[2]]
        if rec[3]:
            params.append("...")
        return spell(records, rec[1], f"{inner}({', '.join(params) or 'void'})", depth + 1)
    return _join(f"<{kind}>", inner)


def _join(specifier: str, inner: str) -> str:
    if not inner:
        return specifier
    if inner.startswith("*"):
        return f"{specifier} {inner}"
    return f"{specifier} {inner}"


def type_name(spelling: str) -> str:
    """The spelling with no declarator name: "char [16]", "struct inode *"."""
    return spelling.replace(PLACEHOLDER, "").replace(" )", ")").replace(" [", "[").strip()


def sizeof(records: Sequence[Record], gid: int, depth: int = 0) -> int | None:
    """Byte size; None for void, functions, and incomplete types."""
    if depth > _MAX_DEPTH or not 0 <= gid < len(records):
        return None
    rec = records[gid]
    kind = rec[0]
    if kind in ("base", "pointer"):
        return int(rec[2])
    if kind in ("struct", "union", "enum"):
        return int(rec[2]) if rec[5] else None
    if kind == "typedef":
        return sizeof(records, rec[2], depth + 1)
    if kind == "qualified":
        return sizeof(records, rec[2], depth + 1)
    if kind == "array":
        element = sizeof(records, rec[1], depth + 1)
        if element is None:
            return None
        return element * (rec[2] or 0)
    return None


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
