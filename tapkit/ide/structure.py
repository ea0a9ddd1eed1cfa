"""Where each raw token stands: brace depth and the kind of region around it, read from tokens alone.

The tree knows none of this for text the preprocessor dropped (inactive `%( %)` branches),
for macro bodies (the tree holds their expansions) or for a half-typed line, yet highlighting,
formatting and completion need it everywhere. So this reads the raw token stream the way a
reader does: `probe … {` opens a probe header then a body, `%( cond %? a %: b %)` keeps the
depth of one branch (both branches usually open and close the same braces), `@define m %( … %)`
is a macro body.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from tapkit.syntax.tokens import Token


class Region(Enum):
    TOP = "top"  # between items
    PROBE_HEADER = "probe-header"  # `probe` up to its body's `{`
    FUNCTION_HEADER = "function-header"  # `function` up to its body
    GLOBAL = "global"  # a global/private declaration
    BODY = "body"  # statements and expressions
    CONDITION = "condition"  # between `%(` and `%?`
    MACRO_HEADER = "macro-header"  # `@define name(params)` before its `%(`
    MACRO_BODY = "macro-body"  # between a macro's `%(` and `%)`


@dataclass(frozen=True, slots=True)
class Place:
    """Where a token stands. depth counts open braces; parens counts open ( and [ inside them."""

    region: Region
    depth: int
    parens: int
    macros: int = 0  # open macro bodies around the token
    frame_depth: int = 0  # depth where the innermost open `%(` opened
    frame_macro: bool = False  # the innermost open `%(` is a macro body
    group: bool = False  # a `{`/`}` of a probe-point brace group, not a block


_State = tuple[Region, int, int, tuple[bool, ...]]  # region, depth, parens, open braces


@dataclass(slots=True)
class _Branching:
    """An open `%(`: a conditional, or a macro body."""

    macro: bool
    outer: _State  # where it opened
    in_condition: bool = True
    branch: _State = (Region.TOP, 0, 0, ())  # where the current branch started
    first: _State | None = None  # where the first branch ended


_GROUP_OPENERS = frozenset({"PROBE", "DOT", "COMMA", "EQUAL", "PLUSASSIGN", "LBRACE"})


def places(tokens: Sequence[Token]) -> list[Place]:
    """The Place of every token: where it stands before it takes effect."""
    out: list[Place] = []
    region = Region.TOP
    depth = parens = 0
    braces: list[bool] = []  # for each open `{`: True for a block, False for a probe-point group
    frames: list[_Branching] = []
    prev = ""  # type of the previous token
    for tok in tokens:
        t = tok.type
        in_condition = bool(frames) and not frames[-1].macro and frames[-1].in_condition
        group = (t == "LBRACE" and region is Region.PROBE_HEADER and prev in _GROUP_OPENERS) or \
            (t == "RBRACE" and bool(braces) and not braces[-1])
        out.append(Place(Region.CONDITION if in_condition and t != "PP_THEN" else region, depth, parens,
                         sum(f.macro for f in frames), frames[-1].outer[1] if frames else 0,
                         bool(frames) and frames[-1].macro, group))
        if t == "PP_IF":
            macro = region is Region.MACRO_HEADER
            frames.append(_Branching(macro, (Region.TOP if macro else region, depth, parens, tuple(braces)),
                                     in_condition=not macro))
            if macro:
                region = Region.MACRO_BODY
        elif t == "PP_THEN" and frames and not frames[-1].macro:
            frames[-1].in_condition = False
            frames[-1].branch = (region, depth, parens, tuple(braces))
        elif t == "PP_ELSE" and frames and not frames[-1].macro:
            f = frames[-1]
            if f.first is None:
                f.first = (region, depth, parens, tuple(braces))
            region, depth, parens, kept = f.branch
            braces = list(kept)
        elif t == "PP_END" and frames:
            f = frames.pop()
            restore = f.outer if f.macro else f.first
            if restore is not None:
                region, depth, parens, kept = restore
                braces = list(kept)
        elif t == "AT_DEFINE" and depth == 0 and region is not Region.MACRO_BODY:
            region = Region.MACRO_HEADER
        elif t == "LBRACE":
            braces.append(not group)
            if group:
                parens += 1
            else:
                if depth == 0 and parens == 0 and region in (Region.PROBE_HEADER, Region.FUNCTION_HEADER,
                                                             Region.TOP):
                    region = Region.BODY
                depth += 1
        elif t == "RBRACE":
            block = braces.pop() if braces else True
            if not block:
                parens = max(parens - 1, 0)
            else:
                depth = max(depth - 1, 0)
                if depth == 0 and region is Region.BODY:
                    region = Region.TOP
        elif t in ("LPAR", "LSQB"):
            parens += 1
        elif t in ("RPAR", "RSQB"):
            parens = max(parens - 1, 0)
        elif depth == 0 and region not in (Region.MACRO_BODY, Region.MACRO_HEADER, Region.PROBE_HEADER):
            if t == "PROBE":
                region = Region.PROBE_HEADER
            elif t == "FUNCTION":
                region = Region.FUNCTION_HEADER
            elif t in ("GLOBAL", "PRIVATE"):
                region = Region.GLOBAL
            elif t == "EMBEDDED":
                region = Region.TOP
        prev = t
    return out
