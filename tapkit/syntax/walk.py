"""Generic traversal of the tree: children from the nodes' fields, so consumers need no per-node code."""

from __future__ import annotations

from collections.abc import Iterator

from tapkit.syntax.ast import Comment, File, Node
from tapkit.values import fields

# Fields of File that are side tables rather than the tree proper.
_FILE_SIDE_TABLES = frozenset({"comments", "inactive", "conditionals", "macros", "macro_calls"})


_CHILD_FIELDS: dict[type[Node], tuple[str, ...]] = {}


def _child_fields(cls: type[Node]) -> tuple[str, ...]:
    cached = _CHILD_FIELDS.get(cls)
    if cached is not None:
        return cached
    names = []
    for name in fields(cls):
        if name == "span" or name.endswith("_span") or name == "doc":
            continue
        if cls is File and name in _FILE_SIDE_TABLES:
            continue
        names.append(name)
    _CHILD_FIELDS[cls] = tuple(names)
    return _CHILD_FIELDS[cls]


def children(node: Node) -> Iterator[Node]:
    """The nodes directly under node, in source order (fields, then tuple elements)."""
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, Node):
            yield value
        elif isinstance(value, tuple):
            for v in value:
                if isinstance(v, Node):
                    yield v


def walk(node: Node) -> Iterator[Node]:
    """node and every node below it, depth first, parents before children."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        kids = list(children(n))
        kids.reverse()
        stack.extend(kids)


def node_at(root: Node, line: int, column: int) -> Node | None:
    """The innermost node whose span contains (line, column), or None outside root."""
    if not root.span.contains(line, column):
        return None
    best = root
    while True:
        for child in children(best):
            if child.span.contains(line, column):
                best = child
                break
        else:
            return best


def path_at(root: Node, line: int, column: int) -> list[Node]:
    """The chain of nodes from root down to the innermost one containing (line, column)."""
    path: list[Node] = []
    node: Node | None = root if root.span.contains(line, column) else None
    while node is not None:
        path.append(node)
        node = next((c for c in children(node) if c.span.contains(line, column)), None)
    return path


def comment_at(file: File, line: int, column: int) -> Comment | None:
    for c in file.comments:
        if c.span.contains(line, column):
            return c
    return None
