"""Tapset probes that fill tables, shortened for analyses that only need their verdict or their types.

syscall_num.stp's `probe init` is 1,660 statements like `__syscall_64_num2name[43] = "accept"`; every
program that names a syscall carries it through derivation, the optimizer's iterations and type
inference (~100 ms), and each such statement teaches pass 2 nothing its first look-alike did not: the
global, the kinds of its literal indexes and of its literal value decide the types, arity and writes,
and neither folding nor elision can treat it differently. compact() keeps the first statement of each
such kind (the one an error would name first) and every other statement as it is. Analyses whose
program is compiled keep the library's bodies whole.
"""

from __future__ import annotations

from tapkit.syntax import ast as A
from tapkit.values import replace

_LITERAL = (A.NumberLiteral, A.StringLiteral)
_done: dict[int, tuple[A.Block, A.Block]] = {}  # id(body) -> (body, compacted): library trees live on


def table_entry(st: A.Node) -> tuple[str, tuple[type, ...], type] | None:
    """What `G[lit, ...] = lit` tells pass 2 (None for any other statement)."""
    if not isinstance(st, A.ExprStatement):
        return None
    e = st.expr
    if not (isinstance(e, A.Assignment) and e.op == "=" and isinstance(e.target, A.ArrayIndex)
            and isinstance(e.target.base, A.Var) and isinstance(e.value, _LITERAL)
            and all(isinstance(i, _LITERAL) for i in e.target.indexes)):
        return None
    return e.target.base.name, tuple(type(i) for i in e.target.indexes), type(e.value)


def compact(body: A.Block) -> A.Block:
    hit = _done.get(id(body))
    if hit is not None and hit[0] is body:
        return hit[1]
    seen: set[tuple[str, tuple[type, ...], type]] = set()
    kept = []
    for st in body.statements:
        entry = table_entry(st)
        if entry is not None:
            if entry in seen:
                continue
            seen.add(entry)
        kept.append(st)
    out = body if len(kept) == len(body.statements) else replace(body, statements=tuple(kept))
    _done[id(body)] = (body, out)
    return out
