"""A readable, indented rendering of a tree (`tapkit parse --dump`), one node per line."""

from __future__ import annotations

from tapkit.syntax.ast import Node
from tapkit.values import fields


def dump(node: Node, indent: str = "  ") -> str:
    lines: list[str] = []
    _dump(node, 0, indent, lines, "")
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> bool:
    return not isinstance(value, Node) and not (isinstance(value, tuple) and any(isinstance(v, Node) for v in value))


def _dump(node: Node, depth: int, indent: str, out: list[str], label: str) -> None:
    sp = node.span
    attrs = []
    nested: list[tuple[str, object]] = []
    for name in fields(node):
        if name == "span" or name.endswith("_span"):
            continue
        value = getattr(node, name)
        if value is None or value == () or value is False:
            continue
        if _scalar(value):
            attrs.append(f"{name}={value!r}")
        else:
            nested.append((name, value))
    head = f"{indent * depth}{label}{type(node).__name__} {sp.line}:{sp.column}-{sp.end_line}:{sp.end_column}"
    out.append(head + (" " + " ".join(attrs) if attrs else ""))
    for name, value in nested:
        if isinstance(value, Node):
            _dump(value, depth + 1, indent, out, f"{name}: ")
        else:
            assert isinstance(value, tuple)
            out.append(f"{indent * (depth + 1)}{name}:")
            for v in value:
                if isinstance(v, Node):
                    _dump(v, depth + 2, indent, out, "")
                else:
                    out.append(f"{indent * (depth + 2)}{v!r}")
