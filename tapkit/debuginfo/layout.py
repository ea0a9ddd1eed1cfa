"""Struct layouts the way pahole shows them: offsets, sizes, holes, bit holes, padding, cachelines.

struct_layout() computes a StructLayout (data: JSON, the editor's hover, tests); format_layout()
prints it in pahole's columns. Members whose type is an unnamed struct or union are expanded in
place, as pahole does; named struct members are not.
"""

from __future__ import annotations

import itertools
from typing import Any

from tapkit.debuginfo.cnames import columns
from tapkit.debuginfo.index import Debuginfo
from tapkit.debuginfo.model import Array, Qualified, Struct, TypeId
from tapkit.values import Value, field

CACHELINE = 64
_COMMENT_COLUMN = 57  # pahole's offset comments start at this visual column (tabs of 8, 0-based)
_TYPE_WIDTH = 26


class FieldLayout(Value):
    """One member. offset is the byte offset from the outermost struct (for bitfields: of the storage unit).

    Holes and notes describe the gap after this member, as pahole prints them.
    """

    name: str | None
    type: TypeId
    type_text: str
    name_text: str
    offset: int
    size: int
    bit_offset: int | None = None  # within the storage unit
    bit_size: int | None = None
    nested: StructLayout | None = None
    hole: int = 0
    bit_hole: int = 0
    inner_padding: int = 0  # tail padding of this member's own struct type ("last struct has ...")
    combined_previous: bool = False
    combined_next: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type_text, "offset": self.offset, "size": self.size}
        if self.bit_size is not None:
            out["bit_offset"] = self.bit_offset
            out["bit_size"] = self.bit_size
        if self.nested is not None:
            out["members"] = [f.to_json() for f in self.nested.fields]
            out["kind"] = self.nested.kind
        if self.hole:
            out["hole_after"] = self.hole
        if self.bit_hole:
            out["bit_hole_after"] = self.bit_hole
        if self.inner_padding:
            out["inner_padding"] = self.inner_padding
        return out


class StructLayout(Value):
    kind: str
    name: str | None
    size: int
    offset: int
    fields: tuple[FieldLayout, ...]
    decl: str | None = None
    summary: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "name": self.name, "size": self.size, "decl": self.decl,
                "members": [f.to_json() for f in self.fields], "summary": self.summary}


def struct_layout(info: Debuginfo, tid: TypeId) -> StructLayout:
    t = info.strip(tid)
    if not isinstance(t, Struct):
        raise ValueError(f"{info.spell(tid)} is not a struct or union")
    return _layout(info, t, 0, 0)


def _layout(info: Debuginfo, t: Struct, base_offset: int, depth: int) -> StructLayout:
    info.prefetch([m.type for m in t.members])
    fields: list[dict[str, Any]] = []
    for m in t.members:
        size = info.sizeof(m.type) or 0
        abs_bits = base_offset * 8 + m.bit_offset
        if m.bit_size is not None and size:
            unit = (abs_bits // (size * 8)) * size
            bit_off: int | None = abs_bits - unit * 8
        else:
            unit, bit_off = abs_bits // 8, None
        inner = info.type(m.type)
        dims = ""
        for _ in range(64):  # typedefs of unnamed structs stay unexpanded, as in pahole
            if not isinstance(inner, (Qualified, Array)):
                break
            if isinstance(inner, Array):
                dims += f"[{'' if inner.count is None else inner.count}]"
                inner = info.type(inner.element)
            else:
                inner = info.type(inner.target)
        nested = None
        if isinstance(inner, Struct) and inner.name is None and depth < 16 and inner.members:
            nested = _layout(info, inner, unit, depth + 1)
        inner_padding = 0
        if nested is not None:
            type_text = ""
            name_text = (m.name or "") + dims
        else:
            target = info.type(m.type)  # pahole notes padding of struct members, not of typedefs to structs
            for _ in range(8):
                if not isinstance(target, Qualified):
                    break
                target = info.type(target.target)
            if t.kind == "struct" and isinstance(target, Struct) and target.kind == "struct" and depth < 16:
                inner_padding = _tail_padding(info, target)
            type_text, name_text = columns(info.spelling(m.type), m.name or "")
            if m.bit_size is not None:
                name_text += f":{m.bit_size}"
        fields.append({"name": m.name, "type": m.type, "type_text": type_text, "name_text": name_text,
                       "offset": unit, "size": size, "bit_offset": bit_off, "bit_size": m.bit_size,
                       "nested": nested, "hole": 0, "bit_hole": 0, "combined_previous": False,
                       "combined_next": False, "inner_padding": inner_padding})
    summary: dict[str, int] = {}
    if t.kind == "struct":
        _gaps(fields, base_offset, t.size, summary)
    return StructLayout(t.kind, t.name, t.size, base_offset, tuple(FieldLayout(**f) for f in fields),
                        str(t.decl) if t.decl else None, summary)


def _tail_padding(info: Debuginfo, t: Struct) -> int:
    """Bytes after the last member of t (bitfields end at their storage unit), as pahole counts padding."""
    if not t.members:
        return 0
    last = t.members[-1]
    size = info.sizeof(last.type) or 0
    if last.bit_size is not None and size:
        end = (last.bit_offset // (size * 8)) * size + size
    else:
        end = last.bit_offset // 8 + size
    return max(0, t.size - end)


def _end_bits(f: dict[str, Any]) -> int:
    if f["bit_size"] is not None:
        return int(f["offset"] * 8 + f["bit_offset"] + f["bit_size"])
    return int((f["offset"] + f["size"]) * 8)


def _gaps(fields: list[dict[str, Any]], base: int, size: int, summary: dict[str, int]) -> None:
    """Holes after each member, and the totals pahole prints at the end of a struct."""
    holes = sum_holes = bit_holes = sum_bit_holes = 0
    for prev, cur in itertools.pairwise(fields):
        start = cur["offset"] * 8 + (cur["bit_offset"] or 0)
        end = _end_bits(prev)
        if prev["bit_size"] is not None:
            unit_end = (prev["offset"] + prev["size"]) * 8
            if start > end:
                prev["bit_hole"] = min(start, unit_end) - end
                if start > unit_end:
                    prev["hole"] = (start - unit_end) // 8
            if cur["bit_size"] is None and cur["offset"] * 8 < unit_end:
                cur["combined_next_of_prev"] = True
                prev["combined_next"] = True
        else:
            if start > end:
                gap = start - end
                prev["hole"], prev["bit_hole"] = gap // 8, gap % 8
            if cur["bit_size"] is not None and cur["offset"] * 8 < end:
                cur["combined_previous"] = True
        if prev["hole"] > 0:
            holes += 1
            sum_holes += prev["hole"]
        if prev["bit_hole"] > 0:
            bit_holes += 1
            sum_bit_holes += prev["bit_hole"]
    for f in fields:
        f.pop("combined_next_of_prev", None)
    padded = [f["inner_padding"] for f in fields if f["inner_padding"]]
    summary["paddings"], summary["sum_paddings"] = len(padded), sum(padded)
    bitfields = [f for f in fields if f["bit_size"] is not None]
    summary["members"] = len(fields)
    summary["sum_members"] = sum(f["size"] for f in fields if f["bit_size"] is None)
    summary["holes"], summary["sum_holes"] = holes, sum_holes
    summary["bit_holes"], summary["sum_bit_holes"] = bit_holes, sum_bit_holes
    summary["bitfield_bits"] = sum(f["bit_size"] for f in bitfields)
    summary["bitfields"] = len(bitfields)
    if fields:
        last = fields[-1]
        end = last["offset"] + last["size"] if last["size"] else (_end_bits(last) + 7) // 8
        summary["padding"] = max(0, base + size - end)
        summary["bit_padding"] = (last["size"] * 8 - last["bit_offset"] - last["bit_size"]
                                  if last["bit_size"] is not None else 0)
    else:
        summary["padding"] = size
        summary["bit_padding"] = 0


# --- printing ------------------------------------------------------------------------------------------


def format_layout(layout: StructLayout) -> str:
    lines = [f"{layout.kind} {layout.name or ''} {{".replace("  ", " ")]
    # pahole sets the comments of a top-level union two columns left of a struct's
    column = _COMMENT_COLUMN - 2 if layout.kind == "union" else _COMMENT_COLUMN
    _format_fields(layout, 1, lines, [CACHELINE], column)
    s = layout.summary
    if layout.kind == "struct":
        cachelines = (layout.size + CACHELINE - 1) // CACHELINE
        lines.append("")
        lines.append(f"\t/* size: {layout.size}, cachelines: {cachelines}, members: {s.get('members', 0)} */")
        if s.get("holes"):
            lines.append(f"\t/* sum members: {s['sum_members']}, holes: {s['holes']}, sum holes: {s['sum_holes']} */")
        elif s.get("bit_holes"):
            lines.append(f"\t/* sum members: {s['sum_members']} */")
        if s.get("bit_holes"):
            lines.append(f"\t/* sum bitfield members: {s['bitfield_bits']} bits, bit holes: {s['bit_holes']}, "
                         f"sum bit holes: {s['sum_bit_holes']} bits */")
        elif s.get("bitfields") and s.get("holes"):
            lines.append(f"\t/* sum bitfield members: {s['bitfield_bits']} bits ({s['bitfield_bits'] // 8} bytes) */")
        if s.get("padding"):
            lines.append(f"\t/* padding: {s['padding']} */")
        if s.get("paddings"):
            lines.append(f"\t/* paddings: {s['paddings']}, sum paddings: {s['sum_paddings']} */")
        if s.get("bit_padding"):
            lines.append(f"\t/* bit_padding: {s['bit_padding']} bits */")
        if layout.size % CACHELINE:
            lines.append(f"\t/* last cacheline: {layout.size % CACHELINE} bytes */")
    lines.append("};")
    return "\n".join(lines) + "\n"


def _pad(text: str, depth: int, column: int) -> str:
    """text at depth tabs, padded with spaces so the comment starts at pahole's column."""
    width = depth * 8 + len(text)
    return "\t" * depth + text + " " * max(1, column - width)


def _offsets(f: FieldLayout) -> str:
    if f.bit_size is not None:
        return f"/* {f.offset:5}:{f.bit_offset or 0:2}{f.size:3} */"
    return f"/* {f.offset:5} {f.size:5} */"


def _format_fields(layout: StructLayout, depth: int, lines: list[str], boundary: list[int], column: int) -> None:
    """boundary[0] is the next cacheline boundary to mark."""
    tabs = "\t" * depth
    for f in layout.fields:
        if f.offset >= boundary[0] and layout.kind == "struct":
            line_no = f.offset // CACHELINE
            ago = f.offset - line_no * CACHELINE
            tail = f" was {ago} bytes ago" if ago else ""
            lines.append(f"{tabs}/* --- cacheline {line_no} boundary ({line_no * CACHELINE} bytes){tail} --- */")
            boundary[0] = (line_no + 1) * CACHELINE
        if f.combined_previous:
            lines.extend(["", f"{tabs}/* Bitfield combined with previous fields */", ""])
        if f.nested is not None:
            lines.append(f"{tabs}{f.nested.kind} {{")
            # a struct inside a struct shares the parent's cacheline count; union members each start afresh
            shared = layout.kind == "struct" and f.nested.kind == "struct"
            _format_fields(f.nested, depth + 1, lines, boundary if shared else [boundary[0]], column)
            closing = f"}} {f.name_text};" if f.name_text else "};"
            lines.append(_pad(closing, depth, column) + f"/* {f.offset:5} {f.size:5} */")
        else:
            width = max(_TYPE_WIDTH - 8 * (depth - 1), 0)
            text = f"{f.type_text:<{width}} {f.name_text};"
            lines.append(_pad(text, depth, column) + _offsets(f))
        notes = []
        if f.inner_padding:
            notes.append(f"{tabs}/* XXX last struct has {f.inner_padding} byte{'s' if f.inner_padding != 1 else ''} "
                         f"of padding */")
        if f.bit_hole:
            notes.append(f"{tabs}/* XXX {f.bit_hole} bit{'s' if f.bit_hole != 1 else ''} hole, try to pack */")
        if f.hole:
            notes.append(f"{tabs}/* XXX {f.hole} byte{'s' if f.hole != 1 else ''} hole, try to pack */")
        if f.combined_next:
            notes.append(f"{tabs}/* Bitfield combined with next fields */")
        if notes:
            lines.extend(["", *notes, ""])
