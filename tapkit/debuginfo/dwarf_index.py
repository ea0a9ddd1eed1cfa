"""From DWARF DIEs to the neutral model: type records for builder.TypeTable, and functions and globals.

One UnitIndexer walks one compile unit. Structs, unions and enums whose (kind, name, size,
declaration site) the table already holds are not descended into: the members of kernel
types repeated in every unit of a module are read once. Declarations of external functions
are skipped the same way; DIEs referenced from skipped subtrees are read on demand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tapkit.debuginfo import formats as F
from tapkit.debuginfo.builder import Record, TypeTable, aggregate_key
from tapkit.debuginfo.dwarf import Abbrev, DwarfFormatError, DwarfSections, Unit
from tapkit.debuginfo.dwarf_tables import file_names, location_list, ranges_of
from tapkit.debuginfo.model import Decl, Location, LocationRange

T = F.Tag
A = F.At
Attrs = dict[int, Any]

_QUALIFIERS: dict[int, str] = {T.const_type: "const", T.volatile_type: "volatile", T.restrict_type: "restrict",
               T.atomic_type: "_Atomic"}
_AGGREGATE_KINDS: dict[int, str] = {T.structure_type: "struct", T.class_type: "struct", T.union_type: "union"}
_DATA_WIDTH: dict[int, int] = {F.Form.data1: 1, F.Form.data2: 2, F.Form.data4: 4, F.Form.data8: 8}
_EAGER = 1 << 20  # the depth fetch() reads a DIE at: nothing is deferred any more
_INLINE = {0: "not_inlined", 1: "inlined", 2: "declared_not_inlined", 3: "declared_inlined"}


@dataclass(slots=True)
class RawVariable:
    """A parameter, local or global before its type reference is resolved to a global id."""

    kind: str
    name: str | None
    type: Any
    location: Location | None
    decl: Decl | None
    scope: tuple[tuple[int, int], ...] = ()
    const_value: int | bytes | None = None
    external: bool = False
    artificial: bool = False
    origin: int | None = None
    declaration: bool = False
    block: int = 0


@dataclass(slots=True)
class RawFunction:
    offset: int
    name: str | None
    linkage_name: str | None
    decl: Decl | None
    return_type: Any
    low_pc: int | None
    high_pc: int | None
    ranges: tuple[tuple[int, int], ...]
    entry_pc: int | None
    frame_base: Location | None
    external: bool
    inline: str
    origin: int | None
    declaration: bool
    cu: str
    params: list[RawVariable] = field(default_factory=list)
    locals: list[RawVariable] = field(default_factory=list)
    variadic: bool = False
    inline_sites: list[RawSite] = field(default_factory=list)


@dataclass(slots=True)
class RawSite:
    """An inlined copy (DW_TAG_inlined_subroutine) and the variables it carries."""

    origin: int
    entry: int
    ranges: tuple[tuple[int, int], ...]
    call: Decl | None
    params: list[RawVariable] = field(default_factory=list)
    locals: list[RawVariable] = field(default_factory=list)
    variadic: bool = False

    @property
    def variables(self) -> list[RawVariable]:
        return [*self.params, *self.locals]


Scope = RawFunction | RawSite


@dataclass(slots=True)
class UnitResult:
    """What one unit contributes besides types: functions and globals, with type refs as global ids."""

    name: str
    functions: list[RawFunction]
    variables: list[RawVariable]


class UnitIndexer:
    """Indexes one unit. A helper for another unit (a partial unit a reference leads into, or a unit of
    the dwz supplementary file, namespace "alt") shares the local records of the unit being indexed."""

    def __init__(self, sections: DwarfSections, unit: Unit, table: TypeTable, namespace: str | None = None,
                 local: dict[Any, Record] | None = None) -> None:
        self.s = sections
        self.unit = unit
        self.table = table
        self.ns = namespace
        self.local: dict[Any, Record] = {} if local is None else local
        self.helpers: dict[tuple[str | None, int], UnitIndexer] = {}
        self.functions: list[RawFunction] = []
        self.by_offset: dict[int, RawFunction] = {}
        self.variables: list[RawVariable] = []
        self.origins: dict[int, RawVariable] = {}
        self.sites: list[RawSite] = []
        self.files: list[str] = []
        self.name = ""

    # --- driving -------------------------------------------------------------------------------------

    def run(self) -> UnitResult:
        prepared = self.prepare()
        if prepared is None:
            return UnitResult("", [], [])
        ab, pos = prepared
        if ab.children:
            self.children(pos, scope=None, depth=1)
        merger = self.table.merger(self.local, self.fetch)
        merger.resolve_named()
        self._finish_functions()
        for fn in self.functions:
            fn.return_type = merger.resolve(fn.return_type)
            for v in fn.params:
                v.type = merger.resolve(v.type)
            for v in fn.locals:
                v.type = merger.resolve(v.type)
        for site in self.sites:
            for v in (*site.params, *site.locals):
                v.type = merger.resolve(v.type)
        for v in self.variables:
            v.type = merger.resolve(v.type)
        merger.finish()
        return UnitResult(self.name, self.functions, self.variables)

    def prepare(self) -> tuple[Abbrev, int] | None:
        """Read the unit DIE: bases, name, the line table's files. Returns its abbrev and where children start."""
        s, unit = self.s, self.unit
        first, at, pos = s.die(unit, unit.die_offset)
        if first is None or first.tag not in (T.compile_unit, T.partial_unit, T.skeleton_unit):
            return None
        ab = first
        unit.str_offsets_base = at.get(A.str_offsets_base, unit.str_offsets_base)
        unit.addr_base = at.get(A.addr_base, at.get(A.GNU_addr_base, unit.addr_base))
        unit.rnglists_base = at.get(A.rnglists_base, 0)
        unit.loclists_base = at.get(A.loclists_base, 0)
        if any(f in F.STRX_FORMS or f in F.ADDRX_FORMS for f in ab.forms.values()):
            again, at, pos = s.die(unit, unit.die_offset)  # again, now that the bases are known
            ab = again or ab
        low = at.get(A.low_pc)
        unit.low_pc = low if isinstance(low, int) else 0
        self.name = str(at.get(A.name, ""))
        comp_dir = str(at.get(A.comp_dir, ""))
        stmt = at.get(A.stmt_list)
        if isinstance(stmt, int):
            try:
                self.files = file_names(s, unit, stmt, comp_dir, self.name)
            except (IndexError, ValueError) as exc:
                raise DwarfFormatError(f"line table at .debug_line+{stmt:#x} is truncated") from exc
        return ab, pos

    def key(self, off: int) -> Any:
        """The local key of a DIE of this unit's file: its offset, tagged with the namespace if any."""
        return off if self.ns is None else (self.ns, off)

    def ref(self, value: Any) -> Any:
        """A reference attribute as a local key (references into the dwz file arrive tagged already)."""
        return value if self.ns is None or not isinstance(value, int) else (self.ns, value)

    def fetch(self, ref: Any) -> Record | None:
        """Read a type DIE that was referenced but not visited: in a skipped subtree, in another (partial)
        unit of this file, or in the dwz supplementary file."""
        ns, off = (ref[0], ref[1]) if isinstance(ref, tuple) and len(ref) == 2 and isinstance(ref[0], str) else (
            None, ref)
        if not isinstance(off, int):
            return None
        if ns == self.ns and self.unit.offset < off < self.unit.end:
            reader = self
        else:
            reader = self.helper(ns, off)
        ab, at, pos = reader.s.die(reader.unit, off)
        if ab is None:
            return None
        reader.one(off, ab, at, pos, scope=None, depth=_EAGER)
        return self.local.get(ref)

    def import_unit(self, target: Any) -> None:
        """Read the types of a dwz partial unit that a unit imports (once per table): types nobody
        references are still types a user may name. Partial units of this file are units of their own."""
        if not (isinstance(target, tuple) and len(target) == 2 and isinstance(target[1], int)):
            return
        if target in self.table.imported:
            return
        self.table.imported.add(target)
        reader = self.helper(target[0], target[1])
        prepared = reader.prepare()
        if prepared is not None and prepared[0].children:
            reader.children(prepared[1], scope=None, depth=1)

    def helper(self, ns: str | None, off: int) -> UnitIndexer:
        sections = self.s if ns is None else self.s.alt
        if sections is None:
            raise DwarfFormatError(f"a reference leads into the dwz supplementary file "
                                   f"(.gnu_debugaltlink {self.s.altlink or ''}), which was not found")
        unit = sections.unit_at(off)
        if unit is None:
            raise DwarfFormatError(f"type reference to {'the dwz file ' if ns else ''}.debug_info+{off:#x} "
                                   f"is outside every unit")
        found = self.helpers.get((ns, unit.offset))
        if found is None:
            found = UnitIndexer(sections, unit, self.table, ns, self.local)
            found.prepare()
            self.helpers[(ns, unit.offset)] = found
        return found

    def children(self, pos: int, scope: Scope | None, depth: int,
                 block: tuple[tuple[int, int], ...] = (), nesting: int = 0) -> int:
        s, unit = self.s, self.unit
        while True:
            if pos >= unit.end:
                raise DwarfFormatError(f"children of a DIE run past the end of the unit at "
                                       f".debug_info+{unit.offset:#x}")
            off = pos
            ab, at, pos = s.die(unit, pos)
            if ab is None:
                return pos
            pos = self.one(off, ab, at, pos, scope, depth, block, nesting)

    def skip(self, ab: Abbrev, at: Attrs, pos: int) -> int:
        if not ab.children:
            return pos
        sib = at.get(A.sibling)
        if isinstance(sib, int) and pos <= sib <= self.unit.end:
            return sib
        return self.s.skip_children(self.unit, pos)

    def one(self, off: int, ab: Abbrev, at: Attrs, pos: int, scope: Scope | None, depth: int,
            block: tuple[tuple[int, int], ...] = (), nesting: int = 0) -> int:
        """Handle one DIE; return the position after it and its children."""
        tag = ab.tag
        local = self.local
        if tag == T.member or tag == T.enumerator or tag == T.subrange_type:
            return self.skip(ab, at, pos)  # handled by their parents
        if tag in _QUALIFIERS:
            local[self.key(off)] = ("qualified", _QUALIFIERS[tag], self.ref(at.get(A.type)))
        elif tag == T.pointer_type or tag == T.reference_type or tag == T.rvalue_reference_type:
            local[self.key(off)] = ("pointer", self.ref(at.get(A.type)), at.get(A.byte_size, self.unit.address_size))
        elif tag == T.typedef:
            local[self.key(off)] = ("typedef", str(at.get(A.name, "")), self.ref(at.get(A.type)), self.decl_tuple(at))
        elif tag == T.base_type:
            local[self.key(off)] = ("base", str(at.get(A.name, "")), at.get(A.byte_size, 0),
                          F.ENCODINGS.get(at.get(A.encoding, 0), "unknown"))
        elif tag in _AGGREGATE_KINDS:
            return self.aggregate(off, _AGGREGATE_KINDS[tag], ab, at, pos, depth)
        elif tag == T.enumeration_type:
            return self.enumeration(off, ab, at, pos)
        elif tag == T.array_type:
            return self.array(off, ab, at, pos, depth)
        elif tag == T.subroutine_type:
            if depth < _EAGER:  # most are function pointers of structs already indexed: read when reached
                return self.skip(ab, at, pos)
            return self.subroutine_type(off, ab, at, pos, depth)
        elif tag == T.unspecified_type or tag == T.ptr_to_member_type:
            local[self.key(off)] = ("base", str(at.get(A.name, "void")), 0, "unspecified")
        elif tag == T.subprogram:
            return self.subprogram(off, ab, at, pos, depth)
        elif tag == T.variable:
            if scope is not None or depth == 1:  # not the variables of an inlined copy
                self.variable(off, ab, at, scope, block, nesting)
        elif tag == T.formal_parameter:
            if scope is not None:
                scope.params.append(self.raw_variable(off, "param", ab, at, block, nesting))
        elif tag == T.unspecified_parameters:
            if scope is not None:
                scope.variadic = True
        elif tag == T.lexical_block and ab.children:  # also inside inlined copies, for nested inline sites
            return self.children(pos, scope, depth + 1, self.pc_ranges(at, ab) or block, nesting + 1)
        elif tag == T.inlined_subroutine:
            origin = at.get(A.abstract_origin)
            entry = at.get(A.entry_pc)
            if not isinstance(entry, int):
                entry = at.get(A.low_pc)
            if not isinstance(entry, int):
                rng = self.pc_ranges(at, ab)
                entry = rng[0][0] if rng else None
            site = None
            if isinstance(origin, int) and isinstance(entry, int):
                call_file, call_line = at.get(A.call_file), at.get(A.call_line, 0)
                call = None
                if isinstance(call_file, int) and 0 <= call_file < len(self.files):
                    call = Decl(self.files[call_file], call_line if isinstance(call_line, int) else 0)
                site = RawSite(origin, entry, self.pc_ranges(at, ab), call)
                self.sites.append(site)
            if ab.children:  # the copy's own variables, and inline sites nested in it
                return self.children(pos, site, depth + 1, block)
        elif tag == T.imported_unit:
            self.import_unit(at.get(A.import_))
        elif tag == T.namespace and ab.children:
            return self.children(pos, scope, depth, block, nesting)
        return self.skip(ab, at, pos)

    # --- types ---------------------------------------------------------------------------------------

    def aggregate(self, off: int, kind: str, ab: Abbrev, at: Attrs, pos: int, depth: int) -> int:
        name = at.get(A.name)
        complete = not at.get(A.declaration, False)
        size = at.get(A.byte_size, 0)
        decl = self.decl_tuple(at)
        if name is not None:
            first = self.first_member(pos) if ab.children and complete else ()
            known = self.table.known(aggregate_key(kind, name, size, decl, complete, first))
            if known is not None:
                self.local[self.key(off)] = ("known", known)
                return self.skip(ab, at, pos)
        members: list[tuple[str | None, Any, int, int | None, int]] = []
        if ab.children:
            s, unit = self.s, self.unit
            little = s.little
            while True:
                moff = pos
                mab, mat, pos = s.die(unit, pos)
                if mab is None:
                    break
                if mab.tag == T.member:
                    members.append(self.member(mab, mat, little))
                    pos = self.skip(mab, mat, pos)
                else:
                    pos = self.one(moff, mab, mat, pos, None, depth + 1)
        self.local[self.key(off)] = (kind, name, size, tuple(members), decl, complete)
        return pos

    def first_member(self, pos: int) -> tuple[tuple[str | None], ...]:
        """The first member's name, in the shape aggregate_key reads from a record's members."""
        s, unit = self.s, self.unit
        while True:
            ab, at, after = s.die(unit, pos)
            if ab is None:
                return ()
            if ab.tag == T.member:
                return ((at.get(A.name),),)
            pos = self.skip(ab, at, after)

    def member(self, ab: Abbrev, at: Attrs, little: bool) -> tuple[str | None, Any, int, int | None, int]:
        bit_size = at.get(A.bit_size)
        dbo = at.get(A.data_bit_offset)
        if isinstance(dbo, int):
            bit_offset = dbo
        else:
            loc = at.get(A.data_member_location, 0)
            byte_off = loc if isinstance(loc, int) else _plus_uconst(loc)
            bit_offset = byte_off * 8
            old = at.get(A.bit_offset)
            if isinstance(old, int) and isinstance(bit_size, int):
                storage = at.get(A.byte_size)
                if not isinstance(storage, int) or storage <= 0:
                    storage = max(1, (old + bit_size + 7) // 8)
                bit_offset += (storage * 8 - old - bit_size) if little else old
        line = at.get(A.decl_line, 0)
        return (at.get(A.name), self.ref(at.get(A.type)), bit_offset, bit_size if isinstance(bit_size, int) else None,
                line if isinstance(line, int) else 0)

    def enumeration(self, off: int, ab: Abbrev, at: Attrs, pos: int) -> int:
        name = at.get(A.name)
        complete = not at.get(A.declaration, False)
        size = at.get(A.byte_size, 4)
        decl = self.decl_tuple(at)
        known = self.table.known(aggregate_key("enum", name, size, decl, complete)) if name else None
        if known is not None:
            self.local[self.key(off)] = ("known", known)
            return self.skip(ab, at, pos)
        signed = at.get(A.encoding) in (5, 6)
        values: list[tuple[str, int]] = []
        if ab.children:
            s, unit = self.s, self.unit
            while True:
                eab, eat, pos = s.die(unit, pos)
                if eab is None:
                    break
                if eab.tag == T.enumerator:
                    value = eat.get(A.const_value, 0)
                    width = _DATA_WIDTH.get(eab.forms.get(A.const_value, 0))
                    if signed and width and isinstance(value, int) and value >= 1 << (8 * width - 1):
                        value -= 1 << (8 * width)
                    values.append((str(eat.get(A.name, "")), value if isinstance(value, int) else 0))
                pos = self.skip(eab, eat, pos)
        self.local[self.key(off)] = ("enum", name, size, tuple(values), decl, complete)
        return pos

    def array(self, off: int, ab: Abbrev, at: Attrs, pos: int, depth: int) -> int:
        counts: list[int | None] = []
        if ab.children:
            s, unit = self.s, self.unit
            while True:
                sab, sat, pos = s.die(unit, pos)
                if sab is None:
                    break
                if sab.tag == T.subrange_type:
                    counts.append(_subrange_count(sat))
                pos = self.skip(sab, sat, pos)
        if not counts:
            counts = [None]
        element = self.ref(at.get(A.type))
        # int m[3][4] is one DIE with two subranges: make Array(3) of Array(4) with synthetic keys.
        for i in range(len(counts) - 1, 0, -1):
            self.local[(self.key(off), i)] = ("array", element, counts[i])
            element = (self.key(off), i)
        self.local[self.key(off)] = ("array", element, counts[0])
        return pos

    def subroutine_type(self, off: int, ab: Abbrev, at: Attrs, pos: int, depth: int) -> int:
        params: list[tuple[str | None, Any]] = []
        variadic = False
        if ab.children:
            s, unit = self.s, self.unit
            while True:
                pab, pat, pos = s.die(unit, pos)
                if pab is None:
                    break
                if pab.tag == T.formal_parameter:
                    params.append((pat.get(A.name), self.ref(pat.get(A.type))))
                elif pab.tag == T.unspecified_parameters:
                    variadic = True
                pos = self.skip(pab, pat, pos)
        if not at.get(A.prototyped, False) and not params:
            variadic = True
        self.local[self.key(off)] = ("function", self.ref(at.get(A.type)), tuple(params), variadic)
        return pos

    # --- functions and variables ---------------------------------------------------------------------

    def subprogram(self, off: int, ab: Abbrev, at: Attrs, pos: int, depth: int) -> int:
        if at.get(A.declaration, False):
            return self.skip(ab, at, pos)
        low = at.get(A.low_pc)
        high = at.get(A.high_pc)
        low_pc = low if isinstance(low, int) else None
        high_pc = None
        if isinstance(high, int) and low_pc is not None:
            high_form = ab.forms.get(A.high_pc)
            high_pc = low_pc + high if high_form in F.CONSTANT_FORMS else high
        ranges = self.pc_ranges(at, ab) if A.ranges in at else ()
        entry = at.get(A.entry_pc)
        origin = at.get(A.abstract_origin, at.get(A.specification))
        fn = RawFunction(
            offset=off,
            name=at.get(A.name),
            linkage_name=at.get(A.linkage_name, at.get(A.MIPS_linkage_name)),
            decl=self.decl(at),
            return_type=self.ref(at.get(A.type)),
            low_pc=low_pc,
            high_pc=high_pc,
            ranges=ranges,
            entry_pc=entry if isinstance(entry, int) else None,
            frame_base=self.location(at, ab, A.frame_base),
            external=bool(at.get(A.external, False)),
            inline=_INLINE.get(at.get(A.inline, -1), "none"),
            origin=origin if isinstance(origin, int) else None,
            declaration=False,
            cu=self.name,
        )
        self.functions.append(fn)
        self.by_offset[off] = fn
        if ab.children:
            return self.children(pos, fn, depth + 1, ())
        return pos

    def variable(self, off: int, ab: Abbrev, at: Attrs, scope: Scope | None,
                 block: tuple[tuple[int, int], ...], nesting: int) -> None:
        kind = "local" if scope is not None else "global"
        var = self.raw_variable(off, kind, ab, at, block, nesting)
        if scope is not None:
            scope.locals.append(var)
        else:
            self.variables.append(var)

    def raw_variable(self, off: int, kind: str, ab: Abbrev, at: Attrs,
                     block: tuple[tuple[int, int], ...], nesting: int = 0) -> RawVariable:
        origin = at.get(A.abstract_origin, at.get(A.specification))
        const = at.get(A.const_value)
        var = RawVariable(
            kind=kind,
            name=at.get(A.name),
            type=self.ref(at.get(A.type)),
            location=self.location(at, ab, A.location),
            decl=self.decl(at),
            scope=block,
            const_value=const if isinstance(const, (int, bytes)) else None,
            external=bool(at.get(A.external, False)),
            artificial=bool(at.get(A.artificial, False)),
            origin=origin if isinstance(origin, int) else None,
            declaration=bool(at.get(A.declaration, False)),
            block=nesting,
        )
        self.origins[off] = var
        return var

    def _finish_functions(self) -> None:
        """Fill concrete instances from their abstract origins; attach inline sites; drop bodiless copies."""
        for fn in self.functions:
            if fn.origin is not None:
                org = self.by_offset.get(fn.origin)
                if org is not None:
                    fn.name = fn.name or org.name
                    fn.linkage_name = fn.linkage_name or org.linkage_name
                    fn.decl = fn.decl or org.decl
                    fn.return_type = fn.return_type or org.return_type
                    fn.external = fn.external or org.external
                    fn.variadic = fn.variadic or org.variadic
                    if fn.inline == "none":
                        fn.inline = org.inline
            for var in (*fn.params, *fn.locals):
                self._fill_variable(var)
        for var in self.variables:
            self._fill_variable(var)
        self.variables = [v for v in self.variables if v.name and not v.declaration]
        concrete: dict[int, RawFunction] = {}
        for fn in self.functions:
            if fn.origin is not None and (fn.low_pc is not None or fn.ranges):
                concrete.setdefault(fn.origin, fn)
        for site in self.sites:
            target = self.by_offset.get(site.origin)
            if target is not None:
                for var in (*site.params, *site.locals):
                    self._fill_variable(var)
                site.params = [v for v in site.params if v.name]
                site.locals = [v for v in site.locals if v.name]
                target.inline_sites.append(site)
        kept = []
        for fn in self.functions:
            if not fn.name:
                continue
            has_body = fn.low_pc is not None or bool(fn.ranges)
            if has_body:
                if fn.origin is not None and fn.origin in self.by_offset:
                    fn.inline_sites = self.by_offset[fn.origin].inline_sites
                kept.append(fn)
            elif fn.inline_sites and fn.offset not in concrete:
                kept.append(fn)
        for fn in kept:
            fn.params = [v for v in fn.params if v.name]
            fn.locals = [v for v in fn.locals if v.name]
        self.functions = kept

    def _fill_variable(self, var: RawVariable) -> None:
        seen = 0
        while var.origin is not None and seen < 8:
            org = self.origins.get(var.origin)
            if org is None:
                return
            var.name = var.name or org.name
            var.type = var.type or org.type
            var.decl = var.decl or org.decl
            var.external = var.external or org.external
            var.origin = org.origin if org.origin != var.origin else None
            seen += 1

    # --- attribute helpers ---------------------------------------------------------------------------

    def decl_tuple(self, at: Attrs) -> tuple[str, int, int] | None:
        fi = at.get(A.decl_file)
        if not isinstance(fi, int) or not 0 <= fi < len(self.files):
            return None
        line = at.get(A.decl_line, 0)
        col = at.get(A.decl_column, 0)
        return (self.files[fi], line if isinstance(line, int) else 0, col if isinstance(col, int) else 0)

    def decl(self, at: Attrs) -> Decl | None:
        d = self.decl_tuple(at)
        return Decl(*d) if d else None

    def pc_ranges(self, at: Attrs, ab: Abbrev) -> tuple[tuple[int, int], ...]:
        rng = at.get(A.ranges)
        if isinstance(rng, int):
            return tuple(ranges_of(self.s, self.unit, rng, ab.forms.get(A.ranges, F.Form.sec_offset)))
        low, high = at.get(A.low_pc), at.get(A.high_pc)
        if isinstance(low, int) and isinstance(high, int):
            if ab.forms.get(A.high_pc) in F.CONSTANT_FORMS:
                high += low
            return ((low, high),)
        return ()

    def location(self, at: Attrs, ab: Abbrev, attr: int) -> Location | None:
        value = at.get(attr)
        if value is None:
            return None
        if isinstance(value, bytes):
            return Location(expr=value)
        if isinstance(value, int):
            form = ab.forms.get(attr, F.Form.sec_offset)
            entries = location_list(self.s, self.unit, value, form)
            return Location(ranges=tuple(LocationRange(lo, hi, expr) for lo, hi, expr in entries))
        return None


def _plus_uconst(expr: Any) -> int:
    """DW_AT_data_member_location given as an expression: DW_OP_plus_uconst N (what compilers emit)."""
    if isinstance(expr, bytes) and expr[:1] == b"\x23":
        value = shift = 0
        for byte in expr[1:]:
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        return value
    return 0


def _subrange_count(at: Attrs) -> int | None:
    count = at.get(A.count)
    if isinstance(count, int):
        return count
    upper = at.get(A.upper_bound)
    if isinstance(upper, int):
        lower = at.get(A.lower_bound, 0)
        lower = lower if isinstance(lower, int) else 0
        if upper >= (1 << 63):  # -1 in an unsigned form: flexible array
            return None
        n = upper - lower + 1
        return n if n >= 0 else None
    return None
