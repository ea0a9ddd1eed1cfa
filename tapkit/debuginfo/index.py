"""Debuginfo: answers about one indexed file (types, members, functions, globals) from its sqlite index.

Every answer comes from the index built once by open_debuginfo() (see files.py); nothing here
reads ELF or DWARF. Types are materialized on first use and cached per instance.
"""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from tapkit.debuginfo import store
from tapkit.debuginfo.cnames import PLACEHOLDER, type_name
from tapkit.debuginfo.model import (
    VOID,
    Array,
    Base,
    Decl,
    Enum,
    Enumerator,
    Function,
    FunctionType,
    Member,
    Param,
    Pointer,
    Qualified,
    Struct,
    Type,
    Typedef,
    TypeId,
    UnknownName,
    Variable,
    Void,
)
from tapkit.values import Value

_KIND_ORDER = {"struct": 0, "union": 1, "typedef": 2, "enum": 3, "base": 4}
_TAGGED = re.compile(r"^\s*(struct|union|enum)\s+(\S.*?)\s*$")
_PATH_TOKEN = re.compile(r"\s*(?:(->|\.)\s*([A-Za-z_]\w*)|\[\s*(-?\d+)\s*\])")


class TypeName(Value):
    """A name @cast and ptype accept, for completion: kind is struct, union, enum, typedef or base."""

    kind: str
    name: str
    id: TypeId

    @property
    def spelled(self) -> str:
        return f"{self.kind} {self.name}" if self.kind in ("struct", "union", "enum") else self.name


class MemberInfo(Value):
    """A member as a user reaches it: anonymous struct/union members are lifted into their parent.

    offset is in bytes from the start of the outer type; via lists the anonymous members crossed.
    """

    name: str
    type: TypeId
    type_name: str
    offset: int
    size: int | None
    bit_offset: int | None = None  # within the byte at offset, bitfields only
    bit_size: int | None = None
    line: int = 0
    via: tuple[int, ...] = ()


class AccessStep(Value):
    """One step of a member/index chain: "member", "index" or "deref" (following a pointer)."""

    kind: str
    name: str
    type: TypeId
    offset: int = 0
    bit_offset: int | None = None
    bit_size: int | None = None


class Access(Value):
    """The result of walking `->a->b[3]` from a type: final type and the steps that reach it."""

    type: TypeId
    steps: tuple[AccessStep, ...]


class Debuginfo:
    """One indexed debuginfo file. Cheap to keep open; thread-safe for reads."""

    def __init__(self, db_path: Path, file: str, module: str) -> None:
        self.db_path = db_path
        self.file = file
        self.module = module
        self._db: sqlite3.Connection = store.open_index(db_path)
        self.meta: dict[str, Any] = store.read_meta(self._db)
        self._types: dict[TypeId, Type] = {VOID: Void()}
        self._rows: dict[TypeId, tuple[str, str | None, int | None, str, str]] = {}

    # --- identity -----------------------------------------------------------------------------------

    @property
    def build_id(self) -> str | None:
        value = self.meta.get("build_id")
        return str(value) if value else None

    @property
    def source(self) -> str:
        """"dwarf" or "btf"."""
        return str(self.meta.get("source", ""))

    def kind_counts(self) -> dict[str, int]:
        """How many types of each kind (struct, union, enum, typedef, pointer, ...) the index holds."""
        return dict(self._db.execute("SELECT kind, COUNT(*) FROM types GROUP BY kind").fetchall())

    def section_of(self, address: int) -> tuple[str, int] | None:
        """(section name, offset in it) of an address; kernel modules' addresses are laid out by tapkit
        (.text first, at 0), so this is how to get the section-relative offset stap prints."""
        for name, start, size in self.meta.get("sections") or ():
            if start <= address < start + size:
                return str(name), address - start
        return None

    def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        return f"<Debuginfo {self.module} {self.source} {self.file}>"

    # --- types --------------------------------------------------------------------------------------

    def _row(self, tid: TypeId) -> tuple[str, str | None, int | None, str, str]:
        row = self._rows.get(tid)
        if row is None:
            got = self._db.execute("SELECT kind, name, size, spell, rec FROM types WHERE id = ?", (tid,)).fetchone()
            if got is None:
                raise UnknownName(self.file, "type id", str(tid))
            row = got
            self._rows[tid] = got
        return row

    def prefetch(self, ids: list[TypeId]) -> None:
        """Load many rows in one query (a struct's member types)."""
        missing = sorted({i for i in ids if i not in self._rows})
        for start in range(0, len(missing), 500):
            chunk = missing[start:start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(f"SELECT id, kind, name, size, spell, rec FROM types WHERE id IN ({marks})",
                                        chunk):
                self._rows[row[0]] = row[1:]

    def type(self, tid: TypeId) -> Type:
        t = self._types.get(tid)
        if t is None:
            t = self._materialize(tid)
            self._types[tid] = t
        return t

    def _materialize(self, tid: TypeId) -> Type:
        kind, _, _, _, rec_json = self._row(tid)
        rec = json.loads(rec_json)
        if kind == "base":
            return Base(tid, rec[1], rec[2], rec[3])
        if kind == "pointer":
            return Pointer(tid, rec[1], rec[2])
        if kind == "qualified":
            return Qualified(tid, rec[1], rec[2])
        if kind == "typedef":
            return Typedef(tid, rec[1], rec[2], _decl(rec[3]))
        if kind == "array":
            return Array(tid, rec[1], rec[2])
        if kind in ("struct", "union"):
            members = tuple(Member(m[0], m[1], m[2], m[3], m[4]) for m in rec[3])
            return Struct(tid, "union" if kind == "union" else "struct", rec[1], rec[2], members, _decl(rec[4]),
                          bool(rec[5]))
        if kind == "enum":
            return Enum(tid, rec[1], rec[2], tuple(Enumerator(n, v) for n, v in rec[3]), _decl(rec[4]), bool(rec[5]))
        if kind == "function":
            return FunctionType(tid, rec[1], tuple(Param(n, t) for n, t in rec[2]), bool(rec[3]))
        return Void()

    def spell(self, tid: TypeId, name: str = "") -> str:
        """C declaration of name with this type ("char name[16]"); without a name, the type's name."""
        spelling = self._row(tid)[3]
        return spelling.replace(PLACEHOLDER, name).strip() if name else type_name(spelling)

    def spelling(self, tid: TypeId) -> str:
        """The raw spelling with "@" for the declarator (see cnames.columns)."""
        return self._row(tid)[3]

    def type_name(self, tid: TypeId) -> str:
        return self.spell(tid)

    def stap_type_name(self, tid: TypeId, depth: int = 0) -> str:
        """The type as `stap -L` prints it: "char const*", "struct vcache*", "int[]", "void (*) (int)"."""
        t = self.type(tid)
        if depth > 32:
            return "..."
        if isinstance(t, Void):
            return "void"
        if isinstance(t, (Base, Typedef)):
            return t.name
        if isinstance(t, (Struct, Enum)):
            return f"{t.kind} {t.name}" if t.name else f"{t.kind} {{...}}"
        if isinstance(t, Qualified):
            return f"{self.stap_type_name(t.target, depth + 1)} {t.qualifier}"
        if isinstance(t, Array):
            return f"{self.stap_type_name(t.element, depth + 1)}[]"
        if isinstance(t, Pointer):
            target = self.type(t.target)
            if isinstance(target, FunctionType):
                return self.stap_type_name(target.id, depth + 1)
            return f"{self.stap_type_name(t.target, depth + 1)}*"
        params = ", ".join(self.stap_type_name(p.type, depth + 1) for p in t.params)
        if not params and not t.variadic:
            params = "void"
        return f"{self.stap_type_name(t.return_type, depth + 1)} (*) ({params})"

    def sizeof(self, tid: TypeId) -> int | None:
        return self._row(tid)[2]

    def strip(self, tid: TypeId) -> Type:
        """Through typedefs and qualifiers to the type underneath; incomplete structs completed by name."""
        t = self.type(tid)
        for _ in range(64):
            if isinstance(t, (Typedef, Qualified)):
                t = self.type(t.target)
            else:
                break
        if isinstance(t, (Struct, Enum)) and not t.complete and t.name:
            found = self.find_type(f"{t.kind} {t.name}")
            if found is not None:
                t = found
        return t

    def find_type(self, name: str) -> Type | None:
        """The type @cast would take for name: "struct foo", "union foo", "enum foo" or a bare "foo".

        A bare name prefers struct, then union, typedef, enum, base; complete types beat declarations.
        """
        candidates = self._candidates(name)
        return self.type(candidates[0]) if candidates else None

    def find_types(self, name: str) -> list[Type]:
        """Every type find_type could answer, best first: a name can have several definitions
        (static types of different compile units, BTF's same-named structs)."""
        return [self.type(tid) for tid in self._candidates(name)]

    def _candidates(self, name: str) -> list[TypeId]:
        name = " ".join(name.split())
        m = _TAGGED.match(name)
        kinds: tuple[str, ...] = (m.group(1),) if m else tuple(_KIND_ORDER)
        bare = m.group(2) if m else name
        rows = self._db.execute("SELECT id, kind, size, rec FROM types WHERE name = ?", (bare,)).fetchall()
        scored = []
        for tid, kind, _size, rec in rows:
            if kind not in kinds:
                continue
            incomplete = kind in ("struct", "union", "enum") and not json.loads(rec)[5]
            scored.append((_KIND_ORDER[kind], incomplete, tid))
        return [tid for *_, tid in sorted(scored)]

    def lookup_type(self, name: str) -> Type:
        """find_type, or UnknownName with close matches."""
        t = self.find_type(name)
        if t is None:
            m = _TAGGED.match(" ".join(name.split()))
            kinds = (m.group(1),) if m else None
            bare = m.group(2) if m else name.strip()
            names = self._names(kinds)
            raise UnknownName(self.file, f"{m.group(1) if m else 'type'}", bare, close_matches(bare, names))
        return t

    def _names(self, kinds: tuple[str, ...] | None) -> list[str]:
        if kinds:
            marks = ",".join("?" * len(kinds))
            rows = self._db.execute(f"SELECT DISTINCT name FROM types WHERE name IS NOT NULL AND kind IN ({marks})",
                                    kinds)
        else:
            rows = self._db.execute("SELECT DISTINCT name FROM types WHERE name IS NOT NULL")
        return [r[0] for r in rows if r[0]]

    def type_names(self, prefix: str = "", kinds: tuple[str, ...] = ("struct", "union", "enum", "typedef",
                                                                      "base")) -> list[TypeName]:
        """Named types (one per kind and name), sorted, for @cast completion."""
        marks = ",".join("?" * len(kinds))
        rows = self._db.execute(
            f"SELECT kind, name, MIN(id) FROM types WHERE name >= ? AND name < ? AND kind IN ({marks}) "
            f"GROUP BY kind, name ORDER BY name, kind", (prefix, prefix + "\U0010ffff", *kinds))
        return [TypeName(kind, name, tid) for kind, name, tid in rows if name]

    # --- members ------------------------------------------------------------------------------------

    def members(self, tid: TypeId) -> list[MemberInfo]:
        """Members of a struct/union (through typedefs, qualifiers and one pointer), anonymous ones lifted."""
        t = self.strip(tid)
        if isinstance(t, Pointer):
            t = self.strip(t.target)
        if not isinstance(t, Struct):
            return []
        out: list[MemberInfo] = []
        self._collect(t, 0, (), out, 0)
        return out

    def _collect(self, t: Struct, base_bits: int, via: tuple[int, ...], out: list[MemberInfo], depth: int) -> None:
        self.prefetch([m.type for m in t.members])
        for m in t.members:
            bits = base_bits + m.bit_offset
            if m.name is None:
                inner = self.strip(m.type)
                if isinstance(inner, Struct) and depth < 32:
                    self._collect(inner, bits, (*via, m.type), out, depth + 1)
                continue
            if m.bit_size is not None:
                size = self.sizeof(m.type) or 0
                unit = (bits // (size * 8)) * size if size else bits // 8
                out.append(MemberInfo(m.name, m.type, self.spell(m.type), unit, size, bits - unit * 8, m.bit_size,
                                      m.line, via))
            else:
                out.append(MemberInfo(m.name, m.type, self.spell(m.type), bits // 8, self.sizeof(m.type), None, None,
                                      m.line, via))

    def member(self, tid: TypeId, name: str) -> MemberInfo:
        for info in self.members(tid):
            if info.name == name:
                return info
        t = self.strip(tid)
        what = f"member of {self.spell(t.id)}" if isinstance(t, (Struct, Pointer)) else f"member of {self.spell(tid)}"
        raise UnknownName(self.file, what, name, close_matches(name, [m.name for m in self.members(tid)]))

    def walk(self, tid: TypeId, path: str) -> Access:
        """Follow a chain like "->a->b[3].c" the way stap does: -> and . both reach members and
        dereference pointers as needed; [n] indexes arrays and pointers."""
        steps: list[AccessStep] = []
        pos, current = 0, tid
        text = path.strip()
        while pos < len(text):
            m = _PATH_TOKEN.match(text, pos)
            if m is None:
                raise UnknownName(self.file, "member chain syntax", text[pos:])
            pos = m.end()
            if m.group(2):
                current = self._member_step(current, m.group(2), steps)
            else:
                current = self._index_step(current, int(m.group(3)), steps)
        return Access(current, tuple(steps))

    def _member_step(self, tid: TypeId, name: str, steps: list[AccessStep]) -> TypeId:
        t = self.strip(tid)
        if isinstance(t, Pointer):
            steps.append(AccessStep("deref", "*", t.target))
            tid, t = t.target, self.strip(t.target)
        if not isinstance(t, Struct):
            raise UnknownName(self.file, f"member of non-struct type {self.spell(tid)!r}", name)
        info = self.member(t.id, name)
        steps.append(AccessStep("member", name, info.type, info.offset, info.bit_offset, info.bit_size))
        return info.type

    def _index_step(self, tid: TypeId, index: int, steps: list[AccessStep]) -> TypeId:
        t = self.strip(tid)
        if isinstance(t, Array):
            size = self.sizeof(t.element) or 0
            steps.append(AccessStep("index", str(index), t.element, index * size))
            return t.element
        if isinstance(t, Pointer):
            size = self.sizeof(t.target) or 0
            steps.append(AccessStep("deref", f"[{index}]", t.target, index * size))
            return t.target
        raise UnknownName(self.file, f"index of non-array type {self.spell(tid)!r}", str(index))

    # --- functions and globals ------------------------------------------------------------------------

    def functions(self, pattern: str = "*") -> list[Function]:
        """Functions whose name matches the glob (stap's wildcards: * ? [...]), in name order."""
        if any(c in pattern for c in "*?["):
            rows = self._db.execute("SELECT data FROM functions WHERE name GLOB ? ORDER BY name, id", (pattern,))
        else:
            rows = self._db.execute("SELECT data FROM functions WHERE name = ? ORDER BY id", (pattern,))
        return [store.function_from_json(json.loads(r[0])) for r in rows]

    def function(self, name: str) -> Function:
        found = self.functions(name)
        if not found:
            names = [r[0] for r in self._db.execute("SELECT DISTINCT name FROM functions")]
            raise UnknownName(self.file, "function", name, close_matches(name, names))
        return found[0]

    def function_names(self, prefix: str = "") -> list[str]:
        rows = self._db.execute("SELECT DISTINCT name FROM functions WHERE name >= ? AND name < ? ORDER BY name",
                                (prefix, prefix + "\U0010ffff"))
        return [r[0] for r in rows]

    def variables(self, pattern: str = "*") -> list[Variable]:
        rows = self._db.execute("SELECT data FROM variables WHERE name GLOB ? ORDER BY name, id", (pattern,))
        return [store.variable_from_json(json.loads(r[0])) for r in rows]

    def variable(self, name: str) -> Variable:
        rows = self._db.execute("SELECT data FROM variables WHERE name = ? ORDER BY id", (name,)).fetchall()
        if not rows:
            names = [r[0] for r in self._db.execute("SELECT DISTINCT name FROM variables")]
            raise UnknownName(self.file, "global variable", name, close_matches(name, names))
        return store.variable_from_json(json.loads(rows[0][0]))


def _decl(v: Any) -> Decl | None:
    return Decl(v[0], v[1], v[2]) if v else None


def close_matches(name: str, candidates: list[str], n: int = 3) -> tuple[str, ...]:
    """Names a user probably meant; cheap prefilters keep this fast over 100k kernel type names."""
    import difflib

    if not name:
        return ()
    lower = name.lower()
    pool = [c for c in candidates if abs(len(c) - len(name)) <= max(3, len(name) // 2)]
    found = difflib.get_close_matches(name, pool, n=n, cutoff=0.6)
    if len(found) < n:
        extra = sorted((c for c in candidates if lower in c.lower() and c not in found), key=len)
        found.extend(extra[:n - len(found)])
    return tuple(found[:n])


def glob_match(name: str, pattern: str) -> bool:
    """stap's function-name wildcards, for callers holding names outside the index."""
    import fnmatch

    return fnmatch.fnmatchcase(name, pattern)
