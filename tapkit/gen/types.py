"""What `tapkit gen TYPE…` writes, as plain values computed from the debuginfo model.

For each struct or union (roots, plus the named types they embed) a TypeSpec holds:
  - accessors, one per member path: `->m` for scalars, pointers, enums and bitfields (long), `&…->m` for
    embedded structs, unions and arrays (their address), `kernel_string_n(&…->m, N)` for char arrays.
    Anonymous members, and members whose type has no name of its own, are reached directly and do not count
    toward --depth; each named embedded struct crossed does.
  - fields: how Get<T> and Print<T> show each member of the type itself: %d/%u for integers, %p for pointers,
    "%s" for char strings, {…} through the embedded type's own Get function, [..] through a lock formatter.
Types declared in system headers (the kernel's, /usr/include) are not expanded from a type of the program's own
sources (no paths into them, no Get of their own): they appear as their address (@0x…).
The templates turn a TypeSet into text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from tapkit.debuginfo import Array, Base, Debuginfo, Decl, Enum, Pointer, Qualified, Struct, Type, Typedef
from tapkit.gen.names import bare_type_name, identifier, local_name
from tapkit.gen.target import GenTarget

AccessorKind = Literal["value", "bitfield", "address", "string"]

# Known lock types and the tapset function that formats one (tapsets/openafs/afs_lock.stp defines AfsLockInfo).
DEFAULT_LOCK_FORMATTERS: Mapping[str, str] = {"afs_lock": "AfsLockInfo"}
SMALL_ARRAY = 8  # scalar arrays up to this many elements are shown element by element
_SYSTEM_DIRS = ("/usr/include/", "/usr/local/include/", "/usr/lib/gcc/", "/usr/src/")
_KERNEL_TREE = ("/include/linux/", "/include/uapi/", "/include/asm-generic/", "/include/net/", "/arch/")


class GenError(Exception):
    """Something tapkit gen cannot generate; str() says what and what to do instead."""


@dataclass(frozen=True, slots=True)
class Accessor:
    """One generated accessor function: `NAME(ptr)` reads ptr->PATH."""

    name: str
    path: tuple[str, ...]
    kind: AccessorKind
    c_type: str
    offset: int
    size: int | None
    bit_offset: int | None = None
    bit_size: int | None = None
    length: int = 0  # strings: the array's bound

    @property
    def member(self) -> str:
        """The C member path ("f.fid.Cell")."""
        return ".".join(self.path)

    @property
    def chain(self) -> str:
        """The stap member chain after @cast(...) ("->f->fid->Cell")."""
        return "".join(f"->{p}" for p in self.path)


@dataclass(frozen=True, slots=True)
class Field:
    """One `label=value` of Get<T>: format holds the printf conversions, exprs the values in order."""

    label: str
    format: str
    exprs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TypeSpec:
    name: str  # what Get/Print and accessor names are made of: "vcache", "afs_rwlock_t"
    cast_name: str  # @cast's type argument
    c_name: str  # "struct vcache"
    kind: str  # "struct" or "union"
    size: int
    decl: str  # "afs.h:850", "" when unknown (BTF)
    param: str
    get_name: str
    print_name: str
    accessors: tuple[Accessor, ...]
    fields: tuple[Field, ...]
    skipped: tuple[str, ...] = ()  # members no accessor can read, with why
    root: bool = True
    group: str = ""  # the root whose file holds this type


@dataclass(frozen=True, slots=True)
class TypeOptions:
    depth: int = 1  # named embedded structs an accessor path may cross
    nest: int = 8  # levels of embedded types that get Get/Print functions of their own
    prefix: str = ""  # put before every generated function name
    lock_formatters: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_LOCK_FORMATTERS))
    available: frozenset[str] = frozenset()  # functions the tapset path defines (lock formatters are used if here)


@dataclass(frozen=True, slots=True)
class TypeSet:
    target: GenTarget
    types: tuple[TypeSpec, ...]
    formatters: tuple[str, ...]  # lock formatter functions the generated code calls

    def groups(self) -> list[tuple[str, list[TypeSpec]]]:
        """(root name, its types) in the order the roots were given."""
        order: dict[str, list[TypeSpec]] = {}
        for spec in self.types:
            order.setdefault(spec.group, []).append(spec)
        return list(order.items())

    def function_names(self) -> list[str]:
        names: list[str] = []
        for spec in self.types:
            names += [a.name for a in spec.accessors]
            names += [spec.get_name, spec.print_name]
        return names


def origin(decl: Decl | None) -> str:
    """"system" for system and kernel headers, "local" for the program's own sources, "" unknown (BTF)."""
    if decl is None or not decl.file:
        return ""
    path = decl.file
    if path.startswith(_SYSTEM_DIRS) or any(part in path for part in _KERNEL_TREE):
        return "system"
    return "local"


def _same_origin(a: Decl | None, b: Decl | None) -> bool:
    first, second = origin(a), origin(b)
    return not first or not second or first == second


def _decl_text(decl: Decl | None) -> str:
    return f"{decl.file.rsplit('/', 1)[-1]}:{decl.line}" if decl and decl.file else ""


@dataclass
class _Pending:
    """A type waiting for its spec: found through `via` at nesting `level` under root `group`."""

    struct: Struct
    name: str
    cast_name: str
    decl: Decl | None
    level: int
    group: str
    root: bool


class _Builder:
    def __init__(self, info: Debuginfo, target: GenTarget, options: TypeOptions) -> None:
        self.info = info
        self.target = target
        self.options = options
        self.queue: list[_Pending] = []
        self.seen: dict[int, _Pending] = {}  # struct id -> where it got its name
        self.formatters: set[str] = set()

    # --- the set of types -------------------------------------------------------------------------

    def add_root(self, text: str) -> None:
        t = self.info.lookup_type(text)
        inner = self.info.strip(t.id)
        if not isinstance(inner, Struct):
            raise GenError(f"{text!r} is {_describe(inner)}; tapkit gen makes accessors for structs and unions")
        if not inner.complete:
            raise GenError(f"{text!r} is only declared in {self.info.file}; its members are not known there")
        name = bare_type_name(text) if not isinstance(t, Typedef) else t.name
        cast = name if not text.strip().startswith("union") else f"union {name}"
        if inner.id in self.seen:
            return
        decl = t.decl if isinstance(t, Typedef) and t.decl else inner.decl
        pending = _Pending(inner, name, cast, decl, 0, name, True)
        self.seen[inner.id] = pending
        self.queue.append(pending)

    def nested(self, member_type: int, level: int, parent: _Pending) -> _Pending | None:
        """The type an embedded member gets a Get function from, registering it on first sight."""
        t = self.info.type(member_type)
        inner = self.info.strip(member_type)
        if not isinstance(inner, Struct) or not inner.complete:
            return None
        if inner.id in self.seen:
            return self.seen[inner.id]
        typedef = _first_typedef(self.info, t)
        name = inner.name or (typedef.name if typedef else None)
        if name is None or level > self.options.nest:
            return None
        decl = inner.decl or (typedef.decl if typedef else None)
        if not _same_origin(parent.decl, decl):
            return None
        cast = (name if inner.kind == "struct" else f"union {name}") if inner.name else name
        pending = _Pending(inner, name, cast, decl, level, parent.group, False)
        self.seen[inner.id] = pending
        self.queue.append(pending)
        return pending

    def expands(self, parent: _Pending, member_type: int) -> bool:
        """Whether paths may go into an embedded type (not from the program's own types into system ones)."""
        t = self.info.type(member_type)
        inner = self.info.strip(member_type)
        typedef = _first_typedef(self.info, t)
        decl = (inner.decl if isinstance(inner, Struct) else None) or (typedef.decl if typedef else None)
        return _same_origin(parent.decl, decl)

    def build(self) -> TypeSet:
        specs: list[TypeSpec] = []
        i = 0
        while i < len(self.queue):  # the queue grows as specs find embedded types
            specs.append(self.spec(self.queue[i]))
            i += 1
        by_group: dict[str, list[TypeSpec]] = {}
        for spec in specs:
            by_group.setdefault(spec.group, []).append(spec)
        ordered = tuple(s for group in by_group.values() for s in group)
        _check_unique(ordered)
        return TypeSet(self.target, ordered, tuple(sorted(self.formatters)))

    # --- one type ------------------------------------------------------------------------------------

    def spec(self, pending: _Pending) -> TypeSpec:
        prefix = self.options.prefix
        ident = identifier(pending.name)
        param = local_name(pending.name)
        walk = _Walk(self, pending, param)
        walk.members(pending.struct, (), 0, 0, True)
        return TypeSpec(
            name=pending.name, cast_name=pending.cast_name,
            c_name=f"{pending.struct.kind} {pending.struct.name}" if pending.struct.name else pending.name,
            kind=pending.struct.kind, size=pending.struct.size, decl=_decl_text(pending.decl), param=param,
            get_name=f"{prefix}Get{ident}", print_name=f"{prefix}Print{ident}",
            accessors=tuple(walk.accessors), fields=tuple(walk.fields), skipped=tuple(walk.skipped),
            root=pending.root, group=pending.group)

    def cast(self, pending: _Pending, param: str) -> str:
        return f'@cast({param}, "{pending.cast_name}", "{self.target.cast_module}")'

    def lock_formatter(self, member_type: int) -> str | None:
        inner = self.info.strip(member_type)
        if not isinstance(inner, Struct) or inner.name is None:
            return None
        name = self.options.lock_formatters.get(inner.name)
        return name if name and name in self.options.available else None


class _Walk:
    """Collects one type's accessors and Get fields by walking its members."""

    def __init__(self, builder: _Builder, pending: _Pending, param: str) -> None:
        self.b = builder
        self.info = builder.info
        self.pending = pending
        self.param = param
        self.base = f"{builder.options.prefix}{identifier(pending.name)}"
        self.accessors: list[Accessor] = []
        self.fields: list[Field] = []
        self.skipped: list[str] = []

    def members(self, struct: Struct, path: tuple[str, ...], level: int, offset: int, shown: bool) -> list[Field]:
        """Accessors for struct's members under path; returns their fields (added to Get when shown)."""
        out: list[Field] = []
        self.info.prefetch([m.type for m in struct.members])
        for m in struct.members:
            inner = self.info.strip(m.type)
            bits = offset * 8 + m.bit_offset
            if m.name is None:  # anonymous struct/union: its members are the parent's
                if isinstance(inner, Struct):
                    out += self.members(inner, path, level, bits // 8, False)
                continue
            out += self.member(m.name, m.type, inner, (*path, m.name), level, bits, m.bit_size)
        if shown:
            self.fields += out
        return out

    def member(self, name: str, tid: int, inner: Type, path: tuple[str, ...], level: int, bits: int,
               bit_size: int | None) -> list[Field]:
        info = self.info
        c_type = info.spell(tid)
        size = info.sizeof(tid)
        label = name

        def add(kind: AccessorKind, length: int = 0, unit: int | None = None, in_bits: int | None = None) -> str:
            acc = Accessor(f"{self.base}_{'_'.join(path)}", path, kind, c_type, bits // 8 if unit is None else unit,
                           size, in_bits, bit_size, length)
            self.accessors.append(acc)
            return f"{acc.name}({self.param})"

        if bit_size is not None:
            unit = (bits // (size * 8)) * size if size else bits // 8
            call = add("bitfield", unit=unit, in_bits=bits - unit * 8)
            return [Field(label, _int_format(inner), (call,))]
        if isinstance(inner, (Base, Enum, Pointer)):
            if isinstance(inner, Base) and inner.encoding in ("float", "complex"):
                self.skipped.append(f"{'.'.join(path)} ({c_type}): stap reads no floating-point values")
                return []
            return [Field(label, _int_format(inner), (add("value"),))]
        if isinstance(inner, Array):
            return self.array(label, inner, path, add)
        if isinstance(inner, Struct):
            return self.embedded(label, tid, inner, path, level, bits, add)
        self.skipped.append(f"{'.'.join(path)} ({c_type}): not a value stap can read")
        return []

    def array(self, label: str, inner: Array, path: tuple[str, ...], add: _Add) -> list[Field]:
        element = self.info.strip(inner.element)
        if isinstance(element, Base) and element.name == "char" and inner.count:
            call = add("string", length=inner.count)
            return [Field(label, '"%s"', (call,))]
        address = add("address")
        if inner.count and inner.count <= SMALL_ARRAY and isinstance(element, (Base, Enum, Pointer)) and not (
                isinstance(element, Base) and element.encoding in ("float", "complex")):
            cast = self.b.cast(self.pending, self.param)
            chain = "".join(f"->{p}" for p in path)
            exprs = tuple(f"{cast}{chain}[{i}]" for i in range(inner.count))
            conv = _int_format(element)
            return [Field(label, "[" + ",".join([conv] * inner.count) + "]", exprs)]
        return [Field(label, "@%p", (address,))]

    def embedded(self, label: str, tid: int, inner: Struct, path: tuple[str, ...], level: int, bits: int,
                 add: _Add) -> list[Field]:
        address = add("address")
        named = inner.name is not None or _first_typedef(self.info, self.info.type(tid)) is not None
        if not named:  # only reachable through this member: shown inline, free of --depth
            nested = self.members(inner, path, level, bits // 8, False)
            return [_inline(label, nested)]
        if level < self.b.options.depth and inner.complete and self.b.expands(self.pending, tid):
            self.members(inner, path, level + 1, bits // 8, False)
        if level > 0:  # a path below --depth's first step: only its accessors matter, not how Get shows it
            return [Field(label, "@%p", (address,))]
        formatter = self.b.lock_formatter(tid)
        if formatter is not None:
            self.b.formatters.add(formatter)
            return [Field(label, "[%s]", (f"{formatter}({address})",))]
        target = self.b.nested(tid, self.pending.level + 1, self.pending)
        if target is not None and target.struct.id != self.pending.struct.id:
            get = f"{self.b.options.prefix}Get{identifier(target.name)}"
            return [Field(label, "{%s}", (f"{get}({address})",))]
        return [Field(label, "@%p", (address,))]


class _Add(Protocol):
    """Adds an accessor for the member being walked and returns the call that reads it."""

    def __call__(self, kind: AccessorKind, length: int = 0, unit: int | None = None,
                 in_bits: int | None = None) -> str: ...


def _inline(label: str, nested: list[Field]) -> Field:
    inner = " ".join(f"{f.label}={f.format}" for f in nested)
    return Field(label, "{" + inner + "}", tuple(e for f in nested for e in f.exprs))


def _int_format(t: Type) -> str:
    if isinstance(t, Pointer):
        return "%p"
    if isinstance(t, Base) and ("unsigned" in t.encoding or t.encoding == "bool"):
        return "%u"
    return "%d"


def _first_typedef(info: Debuginfo, t: Type) -> Typedef | None:
    """The innermost typedef naming t (so `typedef struct {…} osi_timeval32_t` is called osi_timeval32_t)."""
    found = None
    for _ in range(64):
        if isinstance(t, Typedef):
            found = t
            t = info.type(t.target)
        elif isinstance(t, Qualified):
            t = info.type(t.target)
        else:
            break
    return found


def _describe(t: Type) -> str:
    if isinstance(t, Enum):
        return "an enum"
    if isinstance(t, Pointer):
        return "a pointer type"
    if isinstance(t, Base):
        return f"the base type {t.name}"
    return f"a {t.kind} type"


def _check_unique(specs: Sequence[TypeSpec]) -> None:
    seen: dict[str, str] = {}
    for spec in specs:
        for name, what in [(a.name, f"{spec.c_name}.{a.member}") for a in spec.accessors] + [
                (spec.get_name, f"Get of {spec.c_name}"), (spec.print_name, f"Print of {spec.c_name}")]:
            if name in seen and seen[name] != what:
                raise GenError(f"two generated functions would be named {name}: {seen[name]} and {what}; "
                               f"generate them in separate runs or with different --prefix")
            seen[name] = what


def build_types(info: Debuginfo, roots: Sequence[str], target: GenTarget, options: TypeOptions) -> TypeSet:
    """The TypeSet for roots ("struct vcache", "vcache", "afs_rwlock_t", …) read from info."""
    if not roots:
        raise GenError("name at least one type")
    builder = _Builder(info, target, options)
    for root in roots:
        builder.add_root(root)
    return builder.build()
