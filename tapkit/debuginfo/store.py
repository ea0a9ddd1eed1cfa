"""The persistent index: one sqlite file per debuginfo file, keyed by build-id and FORMAT_VERSION.

Tables: meta(key, value); types(id, kind, name, size, spell, rec) where rec is the builder
record as JSON and spell its C spelling; functions(id, name, data) and variables(id, name, data)
with the model values as JSON. Byte strings (DWARF expressions) are stored as hex.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tapkit.debuginfo import cnames
from tapkit.debuginfo.model import Decl, Function, InlineSite, Location, LocationRange, Variable

if TYPE_CHECKING:
    from tapkit.debuginfo.indexer import IndexData

FORMAT_VERSION = 3  # bump whenever the schema or the meaning of a column changes

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
                           ((f.name, _json(function_to_json(f))) for f in data.functions))
            db.executemany("INSERT INTO variables (name, data) VALUES (?, ?)",
                           ((v.name, _json(variable_to_json(v))) for v in data.variables))
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


def location_to_json(loc: Location | None) -> Any:
    if loc is None:
        return None
    if loc.expr is not None:
        return {"e": loc.expr.hex()}
    return {"r": [[r.low, r.high, r.expr.hex()] for r in loc.ranges]}


def location_from_json(v: Any) -> Location | None:
    if v is None:
        return None
    if "e" in v:
        return Location(expr=bytes.fromhex(v["e"]))
    return Location(ranges=tuple(LocationRange(lo, hi, bytes.fromhex(e)) for lo, hi, e in v.get("r", ())))


def variable_to_json(v: Variable) -> dict[str, Any]:
    out: dict[str, Any] = {"n": v.name, "t": v.type, "k": v.kind}
    if v.location is not None:
        out["loc"] = location_to_json(v.location)
    if v.decl:
        out["d"] = _decl(v.decl)
    if v.scope:
        out["sc"] = [list(r) for r in v.scope]
    if v.const_value is not None:
        out["cv"] = v.const_value if isinstance(v.const_value, int) else {"b": v.const_value.hex()}
    if v.external:
        out["x"] = 1
    if v.artificial:
        out["a"] = 1
    if v.block:
        out["b"] = v.block
    return out


def variable_from_json(d: dict[str, Any]) -> Variable:
    cv = d.get("cv")
    if isinstance(cv, dict):
        cv = bytes.fromhex(cv["b"])
    return Variable(name=d["n"], type=d["t"], kind=d["k"], location=location_from_json(d.get("loc")),
                    decl=_undecl(d.get("d")), scope=tuple((lo, hi) for lo, hi in d.get("sc", ())),
                    const_value=cv, external=bool(d.get("x")), artificial=bool(d.get("a")),
                    block=d.get("b", 0))


def function_to_json(f: Function) -> dict[str, Any]:
    return {"n": f.name, "r": f.return_type, "p": [variable_to_json(v) for v in f.params],
            "l": [variable_to_json(v) for v in f.locals], "d": _decl(f.decl), "ln": f.linkage_name,
            "lo": f.low_pc, "hi": f.high_pc, "rg": [list(r) for r in f.ranges], "e": f.entry_pc,
            "fb": location_to_json(f.frame_base), "x": int(f.external), "i": f.inline,
            "s": [_site_to_json(s) for s in f.inline_sites], "va": int(f.variadic), "cu": f.cu}


def _site_to_json(s: InlineSite) -> dict[str, Any]:
    return {"e": s.entry, "r": [list(r) for r in s.ranges], "c": _decl(s.call),
            "v": [variable_to_json(v) for v in s.variables]}


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
