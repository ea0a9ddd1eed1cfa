"""Probe points as stap's later passes see them: brace groups expanded, names printed back."""

from __future__ import annotations

from tapkit.syntax.ast import Component, ComponentGroup, NumberLiteral, ProbePoint, ScriptArg, StringLiteral


def expand_probe_point(pp: ProbePoint) -> tuple[ProbePoint, ...]:
    """`a.{b, c?}.d` -> `a.b.d`, `a.c.d?`: the cartesian product stap's parser builds.

    A group's alternatives keep their own `?`/`!`/condition (stap allows them only when the
    group ends the point); the point's own flags and condition apply to every result.
    """
    results: list[tuple[list[Component], ProbePoint | None]] = [([], None)]
    for comp in pp.components:
        if isinstance(comp, Component):
            results = [([*cs, comp], flags) for cs, flags in results]
            continue
        expanded: list[tuple[list[Component], ProbePoint | None]] = []
        for cs, _ in results:
            for alt in comp.alternatives:
                for sub in expand_probe_point(alt):
                    expanded.append(([*cs, *(c for c in sub.components if isinstance(c, Component))], sub))
        results = expanded
    out = []
    for cs, last in results:
        optional = pp.optional or (last is not None and last.optional)
        sufficient = pp.sufficient or (last is not None and last.sufficient)
        condition = pp.condition if pp.condition is not None else (last.condition if last is not None else None)
        out.append(ProbePoint(pp.span, tuple(cs), optional, sufficient, condition))
    return tuple(out)


def probe_point_text(pp: ProbePoint) -> str:
    """The probe point written back the way stap prints it: `kernel.function("f").return?`."""
    parts = []
    for comp in pp.components:
        if isinstance(comp, ComponentGroup):
            parts.append("{" + ",".join(probe_point_text(a) for a in comp.alternatives) + "}")
            continue
        text = comp.name
        arg = comp.arg
        if isinstance(arg, StringLiteral):
            text += f'("{arg.value}")'
        elif isinstance(arg, NumberLiteral):
            text += f"({arg.value})"
        elif isinstance(arg, ScriptArg):
            text += f"({arg.text})"
        parts.append(text)
    text = ".".join(parts)
    if pp.sufficient:
        text += "!"
    elif pp.optional:
        text += "?"
    return text
