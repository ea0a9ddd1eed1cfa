"""BTF reading: the kernel's /sys/kernel/btf/vmlinux, split BTF of modules, and .BTF sections.

The format (linux/btf.h): a header, an array of btf_type records each followed by kind-specific
trailers (formats.BTF_TRAILERS), and a string table. Types become builder records keyed by
BTF id; FUNC and VAR entries become functions and globals (no locations: BTF has none).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

from tapkit.debuginfo import formats as F
from tapkit.debuginfo.builder import Record, TypeTable, find_cycle
from tapkit.debuginfo.indexer import IndexData
from tapkit.debuginfo.model import DebuginfoError
from tapkit.debuginfo.store import PackedFunction

K = F.BtfKind
_HEADER = "HBBIIIII"  # magic version flags hdr_len type_off type_len str_off str_len
_QUALIFIERS = {K.CONST: "const", K.VOLATILE: "volatile", K.RESTRICT: "restrict"}


@dataclass(slots=True)
class BtfBlob:
    """Raw BTF: records by id (ids start after the base's when this is split BTF)."""

    records: dict[int, Record]
    functions: list[tuple[str, int, int]]  # name, FUNC_PROTO id, linkage
    variables: list[tuple[str, int, int]]  # name, type id, linkage
    protos: dict[int, tuple[int, tuple[tuple[str | None, int], ...], bool]]
    count: int  # ids used, including the base's
    strings: bytes


def parse_btf(path: str, data: bytes, base: BtfBlob | None = None, pointer_size: int = 8) -> BtfBlob:
    try:
        return _parse(path, data, base, pointer_size)
    except (struct.error, IndexError, ValueError, UnicodeError) as exc:
        raise DebuginfoError(path, f"damaged BTF: {type(exc).__name__}: {exc}") from None


def _parse(path: str, data: bytes, base: BtfBlob | None, pointer_size: int) -> BtfBlob:
    if len(data) < 24:
        raise DebuginfoError(path, "BTF data is shorter than its header")
    magic = struct.unpack_from("<H", data)[0]
    endian = "<" if magic == F.BTF_MAGIC else ">" if magic == 0x9FEB else ""
    if not endian:
        raise DebuginfoError(path, f"not BTF (magic {magic:#06x}, expected {F.BTF_MAGIC:#06x})")
    _, version, _flags, hdr_len, type_off, type_len, str_off, str_len = struct.unpack_from(endian + _HEADER, data)
    if version != 1:
        raise DebuginfoError(path, f"unsupported BTF version {version}")
    types_at, strs_at = hdr_len + type_off, hdr_len + str_off
    if types_at + type_len > len(data) or strs_at + str_len > len(data):
        raise DebuginfoError(path, f"BTF sections extend beyond the data ({len(data)} bytes); truncated")
    strings = data[strs_at:strs_at + str_len]
    base_strings = base.strings if base else b""
    name_cache: dict[int, str | None] = {}

    def name(off: int) -> str | None:
        got = name_cache.get(off, "")
        if got != "":
            return got
        table, at = (base_strings, off) if off < len(base_strings) else (strings, off - len(base_strings))
        if at >= len(table):
            raise DebuginfoError(path, f"BTF string offset {off:#x} is outside the string table")
        end = table.find(b"\0", at)
        s = table[at:end if end >= 0 else len(table)].decode("utf-8", "replace") or None
        name_cache[off] = s
        return s

    head = struct.Struct(endian + "III")
    trailers = {kind: (struct.Struct(endian + fmt), per) for kind, (fmt, per) in F.BTF_TRAILERS.items()}
    records: dict[int, Record] = {}
    functions: list[tuple[str, int, int]] = []
    variables: list[tuple[str, int, int]] = []
    protos: dict[int, tuple[int, tuple[tuple[str | None, int], ...], bool]] = {}
    tid = base.count if base else 1
    pos, end = types_at, types_at + type_len
    while pos < end:
        if pos + 12 > end:
            raise DebuginfoError(path, f"BTF type {tid} at offset {pos:#x} is truncated")
        name_off, info, size_or_type = head.unpack_from(data, pos)
        pos += 12
        kind, vlen, kflag = (info >> 24) & 0x1F, info & 0xFFFF, info >> 31
        trailer = trailers.get(kind)
        items: list[tuple[int, ...]] = []
        if trailer is not None:
            st, per = trailer
            n = vlen if per == "v" else 1
            if pos + n * st.size > end:
                raise DebuginfoError(path, f"BTF type {tid} ({K(kind).name}) runs past the type section")
            items = [st.unpack_from(data, pos + i * st.size) for i in range(n)]
            pos += n * st.size
        elif kind not in K.__members__.values() or kind == K.UNKN:
            raise DebuginfoError(path, f"BTF type {tid} has unknown kind {kind}")
        nm = name(name_off)
        if kind == K.INT:
            enc = items[0][0] >> 24
            encoding = ("bool" if enc & 4 else ("signed_char" if enc & 1 else "unsigned_char") if enc & 2
                        else "signed" if enc & 1 else "unsigned")
            records[tid] = ("base", nm or "", size_or_type, encoding)
        elif kind == K.FLOAT:
            records[tid] = ("base", nm or "", size_or_type, "float")
        elif kind == K.PTR:
            records[tid] = ("pointer", size_or_type, pointer_size)
        elif kind == K.ARRAY:
            elem, _index, nelems = items[0]
            records[tid] = ("array", elem, nelems)
        elif kind in (K.STRUCT, K.UNION):
            members = []
            for m_name, m_type, m_off in items:
                if kflag:
                    bits = m_off >> 24
                    members.append((name(m_name), m_type, m_off & 0xFFFFFF, bits or None, 0))
                else:
                    members.append((name(m_name), m_type, m_off, None, 0))
            records[tid] = ("struct" if kind == K.STRUCT else "union", nm, size_or_type, tuple(members), None, True)
        elif kind in (K.ENUM, K.ENUM64):
            if kind == K.ENUM:
                values = [(name(n) or "", v if kflag else v & 0xFFFFFFFF) for n, v in items]  # kflag: signed
            else:
                values = [(name(n) or "", _enum64(lo, hi, bool(kflag))) for n, lo, hi in items]
            records[tid] = ("enum", nm, size_or_type, tuple(values), None, True)
        elif kind == K.FWD:
            records[tid] = ("union" if kflag else "struct", nm, 0, (), None, False)
        elif kind == K.TYPEDEF:
            records[tid] = ("typedef", nm or "", size_or_type, None)
        elif kind in _QUALIFIERS:
            records[tid] = ("qualified", _QUALIFIERS[K(kind)], size_or_type)
        elif kind == K.TYPE_TAG:
            records[tid] = ("alias", size_or_type)
        elif kind == K.FUNC_PROTO:
            params = tuple((name(n), t) for n, t in items)
            variadic = bool(params) and params[-1][1] == 0
            if variadic:
                params = params[:-1]
            records[tid] = ("function", size_or_type, params, variadic)
            protos[tid] = (size_or_type, params, variadic)
        elif kind == K.FUNC and nm:
            functions.append((nm, size_or_type, vlen))
        elif kind == K.VAR and nm:
            variables.append((nm, size_or_type, items[0][0]))
        tid += 1
    return BtfBlob(records, functions, variables, protos, tid, (base_strings + strings) if base else strings)


def _enum64(lo: int, hi: int, signed: bool) -> int:
    value = (hi << 32) | lo
    return value - (1 << 64) if signed and value >= 1 << 63 else value


def index_btf(path: str, blob: BtfBlob, base: BtfBlob | None = None) -> IndexData:
    """Turn BTF (plus its base for split BTF) into IndexData.

    BTF is deduplicated already, so its types are renumbered in one pass instead of interned:
    type tags are dropped (references go to the tagged type) and FUNC/VAR entries, which are not
    types, get no id.
    """
    local: dict[int, Record] = dict(base.records) if base else {}
    local.update(blob.records)
    gid_of: dict[int, int] = {}
    records: list[Record] = [("void",)]
    for bid in sorted(local):
        if local[bid][0] != "alias":
            gid_of[bid] = len(records)
            records.append(local[bid])

    def gid(ref: int) -> int:
        for _ in range(32):  # through type tags
            if not ref:
                return 0
            found = gid_of.get(ref)
            if found is not None:
                return found
            rec = local.get(ref)
            if rec is None or rec[0] != "alias":
                raise DebuginfoError(path, f"damaged BTF: reference to BTF type id {ref}, which is not a type")
            ref = rec[1]
        raise DebuginfoError(path, f"damaged BTF: type tags of BTF type id {ref} refer to each other in a loop")

    table = TypeTable()
    table.records = [_renumber(rec, gid) for rec in records]
    loop = find_cycle(table.records)
    if loop is not None:
        raise DebuginfoError(path, f"damaged BTF: type {loop} refers to itself through pointers, typedefs, "
                                   f"qualifiers or arrays")
    canon = table.canonicalize()

    def final(ref: int) -> int:
        return canon[gid(ref)]

    functions: list[PackedFunction] = []
    for fname, proto_id, linkage in blob.functions:
        proto = blob.protos.get(proto_id) or (base.protos.get(proto_id) if base else None)
        if proto is None:
            continue
        ret, params, variadic = proto
        packed = tuple((n or f"arg{i + 1}", final(t), "param", None, None, (), None, False, False, 0)
                       for i, (n, t) in enumerate(params))
        functions.append((fname, final(ret), packed, (), None, None, None, None, (), None, None, linkage != 0,
                          "none", (), variadic, ""))
    variables = [(vname, final(t), "global", None, None, (), None, linkage != 0, False, 0)
                 for vname, t, linkage in blob.variables]
    return IndexData("btf", table.records, functions, variables, 0)


def _renumber(rec: Record, gid: Callable[[int], int]) -> Record:
    """A BTF record with its references turned into table ids."""
    kind = rec[0]
    if kind == "pointer":
        return ("pointer", gid(rec[1]), rec[2])
    if kind == "qualified":
        return ("qualified", rec[1], gid(rec[2]))
    if kind == "typedef":
        return ("typedef", rec[1], gid(rec[2]), rec[3])
    if kind == "array":
        return ("array", gid(rec[1]), rec[2])
    if kind in ("struct", "union"):
        return (kind, rec[1], rec[2], tuple((m[0], gid(m[1]), m[2], m[3], m[4]) for m in rec[3]), rec[4], rec[5])
    if kind == "function":
        return ("function", gid(rec[1]), tuple((n, gid(t)) for n, t in rec[2]), rec[3])
    return rec
