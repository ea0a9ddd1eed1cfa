"""The persistent index: one sqlite file per debuginfo file, keyed by build-id and FORMAT_VERSION.

Tables: meta(key, value); types(id, kind, name, size, spell, rec) where rec is the builder
record as JSON and spell its C spelling; functions(id, name, data) and variables(id, name, data)
with the model values as JSON rows (function_row, variable_row; readers get model values back from
function_from_json, variable_from_json). Byte strings (DWARF expressions) are stored as hex.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from tapkit.debuginfo import cnames
from tapkit.debuginfo.model import Decl, Function, InlineSite, Location, LocationRange, Variable

if TYPE_CHECKING:
    from tapkit.debuginfo.indexer import IndexData

FORMAT_VERSION = 5  # bump whenever the schema or the meaning of a column changes

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE types (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT, size INTEGER, spell TEXT, rec TEXT);
CREATE TABLE functions (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE variables (id INTEGER PRIMARY KEY, name TEXT NOT NULL, data TEXT NOT NULL);
"""
_INDEXES = """
CREATE INDEX types_name ON types (name);
CREATE INDEX functions_name ON functions (name);
CREATE INDEX variables_name ON variables (name);
"""


_json = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps builds an encoder per call


def write_index(path: Path, data: IndexData, meta: dict[str, Any]) -> None:
    """Write atomically: a reader never sees a half-written index, two writers never collide."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        db = sqlite3.connect(tmp)
        try:
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.executescript(_SCHEMA)
            records = data.records
            spellings = cnames.Spellings(records)
            rows = []
            for gid, rec in enumerate(records):
                name = rec[1] if rec[0] in ("base", "typedef", "struct", "union", "enum") else None
                rows.append((gid, rec[0], name, spellings.sizeof(gid), spellings.spell(gid), _json(rec)))
            db.executemany("INSERT INTO types VALUES (?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO functions (name, data) VALUES (?, ?)",
                           ((f[0], _json(function_json(f))) for f in data.functions))
            db.executemany("INSERT INTO variables (name, data) VALUES (?, ?)",
                           ((v[0], _json(variable_json(v))) for v in data.variables))
            full = {**meta, "format_version": FORMAT_VERSION, "source": data.source, "units": data.units,
                    "types": len(records), "functions": len(data.functions), "variables": len(data.variables)}
            db.executemany("INSERT INTO meta VALUES (?, ?)", ((k, json.dumps(v)) for k, v in full.items()))
            db.executescript(_INDEXES)
            db.commit()
        finally:
            db.close()
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def open_index(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    db.execute("PRAGMA query_only = ON")
    return db


def read_meta(db: sqlite3.Connection) -> dict[str, Any]:
    return {k: json.loads(v) for k, v in db.execute("SELECT key, value FROM meta")}


# --- JSON forms of the model ----------------------------------------------------------------------


def _decl(d: Decl | None) -> list[Any] | None:
    return [d.file, d.line, d.column] if d else None


def _undecl(v: Any) -> Decl | None:
    return Decl(v[0], v[1], v[2]) if v else None


class VariableFields(Protocol):
    """What variable_row reads: a model Variable, or a reader's record of one."""

    @property
    def name(self) -> str | None: ...
    @property
    def type(self) -> Any: ...
    @property
    def kind(self) -> str: ...
    @property
    def location(self) -> Location | None: ...
    @property
    def decl(self) -> Decl | None: ...
    @property
    def scope(self) -> tuple[tuple[int, int], ...]: ...
    @property
    def const_value(self) -> int | bytes | None: ...
    @property
    def external(self) -> bool: ...
    @property
    def artificial(self) -> bool: ...
    @property
    def block(self) -> int: ...


class SiteFields(Protocol):
    @property
    def entry(self) -> int: ...
    @property
    def ranges(self) -> tuple[tuple[int, int], ...]: ...
    @property
    def call(self) -> Decl | None: ...
    @property
    def variables(self) -> Sequence[VariableFields]: ...


class FunctionFields(Protocol):
    """What function_row reads: a model Function, or a reader's record of one."""

    @property
    def name(self) -> str | None: ...
    @property
    def return_type(self) -> Any: ...
    @property
    def params(self) -> Sequence[VariableFields]: ...
    @property
    def locals(self) -> Sequence[VariableFields]: ...
    @property
    def decl(self) -> Decl | None: ...
    @property
    def linkage_name(self) -> str | None: ...
    @property
    def low_pc(self) -> int | None: ...
    @property
    def high_pc(self) -> int | None: ...
    @property
    def ranges(self) -> tuple[tuple[int, int], ...]: ...
    @property
    def entry_pc(self) -> int | None: ...
    @property
    def frame_base(self) -> Location | None: ...
    @property
    def external(self) -> bool: ...
    @property
    def inline(self) -> str: ...
    @property
    def inline_sites(self) -> Sequence[SiteFields]: ...
    @property
    def variadic(self) -> bool: ...
    @property
    def cu(self) -> str: ...


def location_from_json(v: Any) -> Location | None:
    if v is None:
        return None
    if "e" in v:
        return Location(expr=bytes.fromhex(v["e"]))
    return Location(ranges=tuple(LocationRange(lo, hi, bytes.fromhex(e)) for lo, hi, e in v.get("r", ())))


# Readers hand the store functions and globals as compact tuples (far smaller than dicts or model
# objects, and quick to pickle between processes); the JSON row is built as each one is written.
#   variable: (name, type, kind, location, decl, scope, const_value, external, artificial, block)
#     location: None | (expr bytes | None, ((low, high, expr), ...)); decl: None | (file, line, column)
#   function: (name, return_type, params, locals, decl, linkage_name, low_pc, high_pc, ranges, entry_pc,
#     frame_base, external, inline, sites, variadic, cu); site: (entry, ranges, call decl, variables)
PackedVariable = tuple[Any, ...]
PackedFunction = tuple[Any, ...]


def _pack_location(loc: Location | None) -> Any:
    return None if loc is None else (loc.expr, tuple((r.low, r.high, r.expr) for r in loc.ranges))


def _pack_decl(d: Decl | None) -> Any:
    return None if d is None else (d.file, d.line, d.column)


def pack_variable(v: VariableFields) -> PackedVariable:
    return (v.name or "", v.type, v.kind, _pack_location(v.location), _pack_decl(v.decl), v.scope, v.const_value,
            v.external, v.artificial, v.block)


def pack_function(f: FunctionFields) -> PackedFunction:
    """A function as a tuple; its inlined copies one per entry address (nested ones can share it)."""
    sites: dict[int, tuple[Any, ...]] = {}
    for s in f.inline_sites:
        if s.entry not in sites:
            sites[s.entry] = (s.entry, s.ranges, _pack_decl(s.call), tuple(pack_variable(v) for v in s.variables))
    return (f.name or "", f.return_type, tuple(pack_variable(v) for v in f.params),
            tuple(pack_variable(v) for v in f.locals), _pack_decl(f.decl), f.linkage_name, f.low_pc, f.high_pc,
            f.ranges, f.entry_pc, _pack_location(f.frame_base), f.external, f.inline,
            tuple(sites[e] for e in sorted(sites)), f.variadic, f.cu)


def retype_variable(t: PackedVariable, tid: Callable[[Any], Any]) -> PackedVariable:
    return (t[0], tid(t[1]), *t[2:])


def retype_function(t: PackedFunction, tid: Callable[[Any], Any]) -> PackedFunction:
    """The same function with every type id mapped through tid (a reader's ids to the final table's)."""
    sites = tuple((e, r, c, tuple(retype_variable(v, tid) for v in vs)) for e, r, c, vs in t[13])
    return (t[0], tid(t[1]), tuple(retype_variable(v, tid) for v in t[2]), tuple(retype_variable(v, tid) for v in t[3]),
            *t[4:13], sites, *t[14:])


def _location_json(t: Any) -> Any:
    if t is None:
        return None
    if t[0] is not None:
        return {"e": t[0].hex()}
    return {"r": [[lo, hi, e.hex()] for lo, hi, e in t[1]]}


def variable_json(t: PackedVariable) -> dict[str, Any]:
    name, ref, kind, loc, decl, scope, const, external, artificial, block = t
    out: dict[str, Any] = {"n": name, "t": ref, "k": kind}
    if loc is not None:
        out["loc"] = _location_json(loc)
    if decl:
        out["d"] = list(decl)
    if scope:
        out["sc"] = [list(r) for r in scope]
    if const is not None:
        out["cv"] = const if isinstance(const, int) else {"b": const.hex()}
    if external:
        out["x"] = 1
    if artificial:
        out["a"] = 1
    if block:
        out["b"] = block
    return out


def function_json(t: PackedFunction) -> dict[str, Any]:
    (name, ret, params, locals_, decl, linkage, low, high, ranges, entry, frame_base, external, inline, sites,
     variadic, cu) = t
    return {"n": name, "r": ret, "p": [variable_json(v) for v in params], "l": [variable_json(v) for v in locals_],
            "d": list(decl) if decl else None, "ln": linkage, "lo": low, "hi": high, "rg": [list(r) for r in ranges],
            "e": entry, "fb": _location_json(frame_base), "x": int(external), "i": inline,
            "s": [{"e": e, "r": [list(r) for r in rs], "c": list(c) if c else None,
                   "v": [variable_json(v) for v in vs]} for e, rs, c, vs in sites],
            "va": int(variadic), "cu": cu}


def variable_from_json(d: dict[str, Any]) -> Variable:
    cv = d.get("cv")
    if isinstance(cv, dict):
        cv = bytes.fromhex(cv["b"])
    return Variable(name=d["n"], type=d["t"], kind=d["k"], location=location_from_json(d.get("loc")),
                    decl=_undecl(d.get("d")), scope=tuple((lo, hi) for lo, hi in d.get("sc", ())),
                    const_value=cv, external=bool(d.get("x")), artificial=bool(d.get("a")),
                    block=d.get("b", 0))


def function_row(f: FunctionFields) -> dict[str, Any]:
    """The JSON row of a function (what the functions table holds)."""
    return function_json(pack_function(f))


def _site_from_json(d: dict[str, Any]) -> InlineSite:
    return InlineSite(d["e"], tuple((lo, hi) for lo, hi in d["r"]), _undecl(d["c"]),
                      tuple(variable_from_json(v) for v in d["v"]))


def function_from_json(d: dict[str, Any]) -> Function:
    return Function(name=d["n"], return_type=d["r"], params=tuple(variable_from_json(v) for v in d["p"]),
                    locals=tuple(variable_from_json(v) for v in d["l"]), decl=_undecl(d["d"]),
                    linkage_name=d["ln"], low_pc=d["lo"], high_pc=d["hi"],
                    ranges=tuple((lo, hi) for lo, hi in d["rg"]), entry_pc=d["e"],
                    frame_base=location_from_json(d["fb"]), external=bool(d["x"]), inline=d["i"],
                    inline_sites=tuple(_site_from_json(s) for s in d["s"]), variadic=bool(d["va"]), cu=d["cu"])
