"""Interning types into one deduplicated table: the step between a reader and the index.

A reader describes the types of one unit (a DWARF compile unit, a BTF blob, a worker's partial
table) as *records* keyed by local references, and TypeTable.merger() turns them into global ids:

    ("base", name, size, encoding)
    ("pointer", target, size)
    ("qualified", qualifier, target)
    ("typedef", name, target, decl)
    ("array", element, count)                      count None: flexible or unknown
    ("struct" | "union", name, size, members, decl, complete)
        members: ((name, type, bit_offset, bit_size, line), ...)
    ("enum", name, size, enumerators, decl, complete)   enumerators: ((name, value), ...)
    ("function", return_type, params, variadic)    params: ((name, type), ...)
    ("known", global_id)                            already interned (a reader skipped a duplicate)
    ("alias", target)                               the same type as target (BTF type tags)

References are local keys (None or 0 for void); decl is (file, line, column) or None. Named
structs, unions and enums are the same type when kind, name, size and declaration site agree,
which is what lets a reader skip the members of a struct it has already seen; all other kinds
are the same when their resolved fields agree.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

Record = tuple[Any, ...]
AGGREGATES = ("struct", "union", "enum")
_NAMED = frozenset({"struct", "union", "enum", "typedef", "base"})


class TypeError_(Exception):
    """A record refers to something that is not a type, or types refer to each other in a loop."""


def aggregate_key(kind: str, name: str | None, size: int, decl: tuple[str, int, int] | None,
                  complete: bool, members: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The dedup key of a struct/union/enum, or None when it cannot be shared.

    Named ones are keyed by their own fields and the name of their first member (a macro can rename
    members between compile units), so a reader can skip the rest of one it has seen. Unnamed ones
    declared by one macro share a declaration site (DECLARE_FLEX_ARRAY's two structs): all their
    member names and offsets join the key, so readers read their members first.
    """
    if not complete:
        return (kind, name, None) if name else None
    if name is None:
        if decl is None:
            return None
        return (kind, None, size, decl, tuple(m[:1] + m[2:4] for m in members))
    first = members[0][0] if members and kind != "enum" else None
    return (kind, name, size, decl, first)


def _show(ref: Any) -> str:
    """A local reference as error messages name it (DWARF readers key types by DIE offset)."""
    if isinstance(ref, int):
        return f"DIE {ref:#x}"
    if isinstance(ref, tuple) and ref and isinstance(ref[0], int):
        return f"DIE {ref[0]:#x}"
    return repr(ref)


class TypeTable:
    """Global type records (index = type id; 0 is void) and their dedup keys."""

    def __init__(self) -> None:
        self.records: list[Record] = [("void",)]
        self.keys: dict[Hashable, int] = {}
        self.imported: set[Hashable] = set()  # partial units of a dwz file already read into the table

    def __len__(self) -> int:
        return len(self.records)

    def known(self, key: Hashable | None) -> int | None:
        return None if key is None else self.keys.get(key)

    def merger(self, local: dict[Any, Record], fetch: Callable[[Any], Record | None] | None = None,
               share: bool = True, label: Callable[[Any], str] | None = None) -> Merger:
        """share=False keeps same-named complete aggregates apart (BTF is deduplicated already);
        label names a local reference in error messages."""
        return Merger(self, local, fetch, share, label or _show)

    def canonicalize(self) -> list[int]:
        """Point references at forward-declared structs to a complete definition of the same name.

        Returns the mapping old id -> id; records are rewritten in place.
        """
        complete: dict[tuple[str, str], int] = {}
        for gid, rec in enumerate(self.records):
            if rec[0] in AGGREGATES and rec[1] and rec[5]:
                complete.setdefault((rec[0], rec[1]), gid)
        canon = list(range(len(self.records)))
        for gid, rec in enumerate(self.records):
            if rec[0] in AGGREGATES and rec[1] and not rec[5]:
                canon[gid] = complete.get((rec[0], rec[1]), gid)
        if canon == list(range(len(self.records))):
            return canon
        self.records = [_remap(rec, canon) for rec in self.records]
        return canon


def find_cycle(records: list[Record]) -> int | None:
    """A type id on a loop that passes through no struct, union or enum (only damaged data has one)."""
    state = bytearray(len(records))  # 0 unseen, 1 on the current path, 2 done

    def edges(rec: Record) -> list[int]:
        kind = rec[0]
        if kind == "pointer" or kind == "array":
            return [rec[1]]
        if kind == "qualified" or kind == "typedef":
            return [rec[2]]
        if kind == "function":
            return [rec[1], *(t for _, t in rec[2])]
        return []

    for start in range(len(records)):
        if state[start]:
            continue
        stack = [(start, iter(edges(records[start])))]
        state[start] = 1
        while stack:
            node, todo = stack[-1]
            nxt = next(todo, None)
            if nxt is None:
                state[node] = 2
                stack.pop()
            elif 0 <= nxt < len(records):
                if state[nxt] == 1:
                    return nxt
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, iter(edges(records[nxt]))))
    return None


def _remap(rec: Record, canon: list[int]) -> Record:
    kind = rec[0]
    if kind == "pointer":
        return ("pointer", canon[rec[1]], rec[2])
    if kind == "qualified":
        return ("qualified", rec[1], canon[rec[2]])
    if kind == "typedef":
        return ("typedef", rec[1], canon[rec[2]], rec[3])
    if kind == "array":
        return ("array", canon[rec[1]], rec[2])
    if kind in ("struct", "union"):
        members = tuple((m[0], canon[m[1]], m[2], m[3], m[4]) for m in rec[3])
        return (kind, rec[1], rec[2], members, rec[4], rec[5])
    if kind == "function":
        return ("function", canon[rec[1]], tuple((n, canon[t]) for n, t in rec[2]), rec[3])
    return rec



class Merger:
    """Resolves one unit's local references to global ids, interning what is new."""

    def __init__(self, table: TypeTable, local: dict[Any, Record],
                 fetch: Callable[[Any], Record | None] | None, share: bool = True,
                 label: Callable[[Any], str] = _show) -> None:
        self.table = table
        self.share = share
        self.label = label
        self.local = local
        self.fetch = fetch
        self.memo: dict[Any, int] = {}
        self.pending: list[tuple[int, Record]] = []

    def resolve(self, ref: Any) -> int:
        if not ref:
            return 0
        gid = self.memo.get(ref)
        if gid is not None:
            if gid < 0:
                raise TypeError_(f"type {self.label(ref)} refers to itself through typedefs or qualifiers")
            return gid
        rec = self.local.get(ref)
        if rec is None and self.fetch is not None:
            rec = self.fetch(ref)
            if rec is not None:
                self.local[ref] = rec
        if rec is None:
            raise TypeError_(f"reference to {self.label(ref)}, which is not a type")
        table = self.table
        kind = rec[0]
        if kind == "known":
            gid = rec[1]
        elif kind == "alias":
            self.memo[ref] = -1
            gid = self.resolve(rec[1])
        elif kind in AGGREGATES:
            key = aggregate_key(kind, rec[1], rec[2], rec[4], rec[5], rec[3])
            if not self.share and rec[5]:
                key = None
            gid = table.known(key)
            if gid is None:
                gid = len(table.records)
                table.records.append(rec)  # placeholder until its members are resolved
                if key is not None:
                    table.keys[key] = gid
                self.pending.append((gid, rec))
        else:
            self.memo[ref] = -1
            if kind == "pointer":
                final: Record = ("pointer", self.resolve(rec[1]), rec[2])
                shared_key: Hashable = final
            elif kind == "qualified":
                final = ("qualified", rec[1], self.resolve(rec[2]))
                shared_key = final
            elif kind == "typedef":
                final = ("typedef", rec[1], self.resolve(rec[2]), rec[3])
                shared_key = ("typedef", rec[1], final[2])
            elif kind == "array":
                final = ("array", self.resolve(rec[1]), rec[2])
                shared_key = final
            elif kind == "function":
                final = ("function", self.resolve(rec[1]), tuple((n, self.resolve(t)) for n, t in rec[2]), rec[3])
                shared_key = final
            elif kind == "base":
                final = rec
                shared_key = rec
            else:
                raise TypeError_(f"unknown type record kind {kind!r} for {self.label(ref)}")
            gid = table.keys.get(shared_key)
            if gid is None:
                gid = len(table.records)
                table.records.append(final)
                table.keys[shared_key] = gid
        self.memo[ref] = gid
        return gid

    def finish(self) -> dict[Any, int]:
        """Resolve the members of every newly interned struct (which may intern more); return the mapping."""
        while self.pending:
            gid, rec = self.pending.pop()
            kind = rec[0]
            if kind == "enum":
                continue
            members = tuple((m[0], self.resolve(m[1]), m[2], m[3], m[4]) for m in rec[3])
            self.table.records[gid] = (kind, rec[1], rec[2], members, rec[4], rec[5])
        return self.memo

    def resolve_all(self) -> dict[Any, int]:
        for ref in list(self.local):
            self.resolve(ref)
        return self.finish()

    def resolve_named(self) -> dict[Any, int]:
        """Intern the types a name reaches (and what they refer to); pointers, arrays and prototypes
        nothing named uses are only interned when a function or variable refers to them."""
        for ref, rec in list(self.local.items()):
            if rec[0] in _NAMED and rec[1]:
                self.resolve(ref)
        return self.finish()

