"""`tapkit ptype TYPE [--module M]`: a type's layout the way pahole prints it.

TYPE is "struct vcache", "vcache", a typedef or enum name, and may continue with a member
chain ("vcache->v.i_size") to show the type it reaches and where.
"""

from __future__ import annotations

import argparse
import json
import re
from typing import TYPE_CHECKING, Any

from tapkit.commands.index import add_source_arguments, error, load

if TYPE_CHECKING:
    from tapkit.debuginfo import Debuginfo, Type

HELP = "print a struct, union, enum or typedef with offsets, sizes and holes (like pahole)"
_CHAIN = re.compile(r"^\s*((?:struct|union|enum)\s+)?([A-Za-z_]\w*)\s*(.*?)\s*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("type", metavar="TYPE", help='"struct NAME", "union NAME", "enum NAME", a bare name, '
                                                     'optionally followed by ->member chains')
    parser.add_argument("--module", "-m", default="kernel",
                        help='where the type lives: a file, "kernel" (default), "kernel:NAME", module("NAME")')
    add_source_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from tapkit.debuginfo import DebuginfoError

    try:
        info, _ = load(args.module, args)
        name, chain = _split(args.type)
        t = info.lookup_type(name)
        access = info.walk(t.id, chain) if chain else None
    except DebuginfoError as exc:
        return error(str(exc))
    if access is not None:
        return _print_access(info, t, chain, access, args.json)
    data, text = describe(info, t)
    print(json.dumps(data, indent=2) if args.json else text, end="" if not args.json else "\n")
    return 0


def _split(text: str) -> tuple[str, str]:
    """("struct vcache", "->v.i_size") from "struct vcache->v.i_size"; names that do not parse stay whole."""
    m = _CHAIN.match(text)
    if m is None or (m.group(3) and not m.group(3).startswith(("->", ".", "["))):
        return text.strip(), ""
    return f"{m.group(1) or ''}{m.group(2)}", m.group(3)


def describe(info: Debuginfo, t: Type) -> tuple[dict[str, Any], str]:
    """JSON data and text for a type: pahole layout for structs and unions."""
    from tapkit.debuginfo import Base, Enum, Struct, Typedef
    from tapkit.debuginfo.layout import format_layout, struct_layout

    data: dict[str, Any]
    if isinstance(t, Struct):
        layout = struct_layout(info, t.id)
        return layout.to_json(), format_layout(layout)
    if isinstance(t, Typedef):
        inner = info.strip(t.id)
        head = f"typedef {info.spell(t.target, t.name)};\n"
        data = {"kind": "typedef", "name": t.name, "type": info.spell(t.target),
                                "size": info.sizeof(t.id), "decl": str(t.decl) if t.decl else None}
        if isinstance(inner, (Struct, Enum)) and inner.id != t.id:
            inner_data, inner_text = describe(info, inner)
            data["target"] = inner_data
            return data, head + inner_text
        return data, head
    if isinstance(t, Enum):
        width = max((len(e.name) for e in t.enumerators), default=0)
        lines = [f"enum {t.name or ''} {{".replace("  ", " ")]
        lines += [f"\t{e.name:<{width}} = {e.value}," for e in t.enumerators]
        lines.append("};")
        lines.append(f"/* size: {t.size} */")
        data = {"kind": "enum", "name": t.name, "size": t.size, "decl": str(t.decl) if t.decl else None,
                "enumerators": [{"name": e.name, "value": e.value} for e in t.enumerators]}
        return data, "\n".join(lines) + "\n"
    if isinstance(t, Base):
        return ({"kind": "base", "name": t.name, "size": t.size, "encoding": t.encoding},
                f"{t.name}: {t.size} bytes, {t.encoding}\n")
    spelled = info.spell(t.id)
    return {"kind": t.kind, "name": spelled, "size": info.sizeof(t.id)}, f"{spelled}\n"


def _print_access(info: Debuginfo, t: Type, chain: str, access: Any, as_json: bool) -> int:
    offset = 0
    steps = []
    for step in access.steps:
        if step.kind == "deref":
            offset = step.offset
        else:
            offset += step.offset
        steps.append({"kind": step.kind, "name": step.name, "type": info.spell(step.type), "offset": step.offset})
    final = info.type(access.type)
    data, text = describe(info, info.strip(final.id)) if info.strip(final.id).kind in ("struct", "union") else (
        {}, "")
    if as_json:
        print(json.dumps({"type": info.spell(access.type), "size": info.sizeof(access.type), "offset": offset,
                          "steps": steps, "layout": data or None}, indent=2))
        return 0
    print(f"{info.spell(t.id)}{chain}: {info.spell(access.type)} (offset {offset} from the last pointer, "
          f"size {info.sizeof(access.type)})")
    if text:
        print(text, end="")
    return 0
