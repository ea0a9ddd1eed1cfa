"""The neutral model every reader (DWARF, BTF) produces and every consumer sees.

Types refer to each other by TypeId, an integer local to one index (0 is void); ask the
Debuginfo that produced a value to resolve an id. Values are frozen and slotted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from tapkit.values import Value

TypeId = int
VOID: TypeId = 0
Progress = Callable[[int, int], None]  # called with (bytes done, bytes total) while indexing


class DebuginfoError(Exception):
    """A debuginfo file could not be read or a name could not be resolved; str() names the file."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message


class UnknownName(DebuginfoError):
    """A type, member or function name that is not in the index, with close matches for "did you mean"."""

    def __init__(self, path: str, what: str, name: str, suggestions: tuple[str, ...] = ()) -> None:
        hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(path, f"no {what} named {name!r}{hint}")
        self.what = what
        self.name = name
        self.suggestions = suggestions


class Decl(Value):
    """Where the C source declares something; line and column are 1-based, 0 when unknown."""

    file: str
    line: int
    column: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Void(Value):
    id: TypeId = VOID
    kind: Literal["void"] = "void"
    name: str = "void"


class Base(Value):
    """An integer, character, boolean or floating type; encoding is "signed", "unsigned", "float", ..."""

    id: TypeId
    name: str
    size: int
    encoding: str
    kind: Literal["base"] = "base"


class Pointer(Value):
    id: TypeId
    target: TypeId
    size: int
    kind: Literal["pointer"] = "pointer"


class Qualified(Value):
    """const, volatile, restrict or _Atomic applied to target."""

    id: TypeId
    qualifier: str
    target: TypeId
    kind: Literal["qualified"] = "qualified"


class Typedef(Value):
    id: TypeId
    name: str
    target: TypeId
    decl: Decl | None = None
    kind: Literal["typedef"] = "typedef"


class Array(Value):
    """One dimension; `int m[3][4]` is Array(3) of Array(4) of int. count None: flexible or unknown."""

    id: TypeId
    element: TypeId
    count: int | None
    kind: Literal["array"] = "array"


class Member(Value):
    """A struct or union member. name None: an anonymous struct/union whose members belong to the parent.

    bit_offset counts from the start of the enclosing struct; bit_size is set for bitfields only.
    """

    name: str | None
    type: TypeId
    bit_offset: int
    bit_size: int | None = None
    line: int = 0

    @property
    def offset(self) -> int:
        """Byte offset of the member's first bit."""
        return self.bit_offset // 8


class Struct(Value):
    """A struct or union (kind tells which). complete is False for a forward declaration."""

    id: TypeId
    kind: Literal["struct", "union"]
    name: str | None
    size: int
    members: tuple[Member, ...]
    decl: Decl | None = None
    complete: bool = True


class Enumerator(Value):
    name: str
    value: int


class Enum(Value):
    id: TypeId
    name: str | None
    size: int
    enumerators: tuple[Enumerator, ...]
    decl: Decl | None = None
    complete: bool = True
    kind: Literal["enum"] = "enum"


class Param(Value):
    name: str | None
    type: TypeId


class FunctionType(Value):
    """A function prototype, as the target of a function pointer or the type of a function."""

    id: TypeId
    return_type: TypeId
    params: tuple[Param, ...]
    variadic: bool = False
    kind: Literal["function"] = "function"


Type = Void | Base | Pointer | Qualified | Typedef | Array | Struct | Enum | FunctionType


class LocationRange(Value):
    """One entry of a location list: expr holds the value for pcs in [low, high)."""

    low: int
    high: int
    expr: bytes


class Location(Value):
    """Where a variable lives: one DWARF expression valid in its whole scope, or a location list.

    Both empty means the compiler dropped the value ("optimized out").
    """

    expr: bytes | None = None
    ranges: tuple[LocationRange, ...] = ()

    @property
    def optimized_out(self) -> bool:
        return self.expr is None and not self.ranges

    def covers(self, pc: int) -> bool:
        """Whether the value can be read at pc."""
        if self.expr is not None:
            return bool(self.expr)
        return any(r.low <= pc < r.high and r.expr for r in self.ranges)


VariableKind = Literal["param", "local", "global"]


class Variable(Value):
    """A parameter, a local or a global.

    block is the lexical nesting (0: the function's outermost scope); scope holds the pc ranges of the
    enclosing lexical block when known (() = the whole function).
    """

    name: str
    type: TypeId
    kind: VariableKind
    location: Location | None = None
    decl: Decl | None = None
    scope: tuple[tuple[int, int], ...] = ()
    const_value: int | bytes | None = None
    external: bool = False
    artificial: bool = False
    block: int = 0

    def available_at(self, pc: int) -> bool:
        """Whether a probe at pc can read it (a constant, or a location that covers pc)."""
        return self.const_value is not None or (self.location is not None and self.location.covers(pc))


class InlineSite(Value):
    """One inlined copy of a function: where it starts, the pcs it covers, the call it replaces, and
    its own variables (the function's parameters and locals with this copy's locations)."""

    entry: int
    ranges: tuple[tuple[int, int], ...] = ()
    call: Decl | None = None
    variables: tuple[Variable, ...] = ()


InlineState = Literal["none", "inlined", "declared_inlined", "declared_not_inlined", "not_inlined"]


class Function(Value):
    """A function with a body in this file, or one that exists only as inlined copies.

    Addresses are as the file states them: link-time for executables, load-base relative for PIE and
    shared objects. A kernel module's sections get addresses one after another, .text at 0
    (Debuginfo.section_of turns an address back into section and offset).
    """

    name: str
    return_type: TypeId
    params: tuple[Variable, ...]
    locals: tuple[Variable, ...]
    decl: Decl | None = None
    linkage_name: str | None = None
    low_pc: int | None = None
    high_pc: int | None = None
    ranges: tuple[tuple[int, int], ...] = ()
    entry_pc: int | None = None
    frame_base: Location | None = None
    external: bool = False
    inline: InlineState = "none"
    inline_sites: tuple[InlineSite, ...] = ()
    variadic: bool = False
    cu: str = ""

    @property
    def static(self) -> bool:
        return not self.external

    @property
    def has_body(self) -> bool:
        """True when an out-of-line copy exists (a probe can sit on its entry)."""
        return self.low_pc is not None or bool(self.ranges)

    @property
    def entry_address(self) -> int | None:
        if self.entry_pc is not None:
            return self.entry_pc
        if self.low_pc is not None:
            return self.low_pc
        return self.ranges[0][0] if self.ranges else None
