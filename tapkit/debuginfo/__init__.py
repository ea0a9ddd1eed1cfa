"""tapkit.debuginfo: the target's types, functions and globals, from DWARF or BTF, answered from an index.

Entry points (everything else in the package is machinery behind them):

    from tapkit.debuginfo import load, open_debuginfo, resolve

    info = load('module("openafs")', release="6.1.0-56-amd64")   # resolve a spec, index once, open
    info = load("kernel")                  # vmlinux DWARF if installed, else /sys/kernel/btf/vmlinux
    info = load("kernel:nfs")              # @cast's third argument; process("/bin/ls"); a path
    info = open_debuginfo("/path/to/openafs.ko")                 # a file you already have
    src = resolve('process("./a.out")')    # where the types would come from, without indexing

    load(spec, *, release=None, overrides={"openafs": "/tmp/openafs.ko"}, progress=None) -> Debuginfo
        overrides is --debuginfo: module name (or "*") -> file. progress(done, total) is called while
        indexing. Raises DebuginfoError (str() names the file and what is wrong).

Debuginfo (tapkit.debuginfo.index) -- all lookups read the sqlite index, never the ELF file:

    Types        find_type("struct vcache" | "vcache") -> Type | None (a bare name prefers struct, union,
                 typedef, enum, base); find_types(name) -> every definition of a name (static types of
                 different units); lookup_type(name) -> Type or UnknownName(.suggestions); type(id);
                 strip(id) (typedefs/qualifiers; completes forward declarations); sizeof(id);
                 spell(id, name="") C spelling; stap_type_name(id) as `stap -L` prints it;
                 type_names(prefix, kinds) -> [TypeName(kind, name, id)] for @cast completion;
                 kind_counts(); prefetch(ids) loads many type rows in one query.
    Members      members(id) -> [MemberInfo(name, type, type_name, offset, size, bit_offset, bit_size,
                 line)] with anonymous struct/union members lifted (completion after ->);
                 member(id, name) -> MemberInfo or UnknownName with close matches;
                 walk(id, "->a->b[3]") -> Access(type, steps) following pointers the way stap does.
    Layout       tapkit.debuginfo.layout.struct_layout(info, id) -> StructLayout (.to_json());
                 format_layout(layout) -> pahole-style text (hover, `tapkit ptype`).
    Functions    functions("afs_*") -> [Function] (stap's * ? [..] wildcards); function(name) or
                 UnknownName; function_names(prefix). Function: name, decl (file:line), return_type,
                 params/locals: [Variable(name, type, kind, location: Location(expr bytes | ranges of
                 LocationRange(low, high, expr)), decl, block nesting, scope pc ranges, const_value)],
                 Variable.available_at(pc); low_pc/high_pc/ranges (hot/cold split)/entry_pc/
                 entry_address, frame_base, external/static, inline state, inline_sites
                 (InlineSite: entry, ranges, call decl, the copy's own variables and locations).
                 A kernel module's sections are laid out .text first at 0: section_of(address) ->
                 (section, offset) gives the section-relative address stap prints.
    Globals      variables(glob) -> [Variable]; variable(name).
    Identity     file, module, build_id, source ("dwarf" | "btf"), meta (arch, elf_type 1/2/3 =
                 relocatable/executable/PIE or shared object, sections, counts).

The model (tapkit.debuginfo.model) is frozen dataclasses: Void, Base, Pointer, Qualified, Typedef,
Array (one dimension each), Struct (kind "struct"/"union", members: Member with bit_offset from the
struct start and bit_size for bitfields), Enum, FunctionType; Function, InlineSite, Variable,
Location, Decl.
Types refer to each other by integer ids local to one Debuginfo (0 is void).

DWARF location expressions are kept as raw bytes (DW_OP_* programs, including entry_value and
fbreg against the function's frame_base); tapkit.debuginfo.location disassembles them.
"""

from __future__ import annotations

from collections.abc import Mapping

from tapkit.debuginfo.files import open_debuginfo
from tapkit.debuginfo.index import Access, AccessStep, Debuginfo, MemberInfo, TypeName
from tapkit.debuginfo.locate import DebuginfoSource, ModuleSpec, parse_spec, resolve
from tapkit.debuginfo.model import (
    VOID,
    Array,
    Base,
    DebuginfoError,
    Decl,
    Enum,
    Enumerator,
    Function,
    FunctionType,
    InlineSite,
    Location,
    LocationRange,
    Member,
    Param,
    Pointer,
    Progress,
    Qualified,
    Struct,
    Type,
    Typedef,
    TypeId,
    UnknownName,
    Variable,
    Void,
)


def load(spec: str, *, release: str | None = None, overrides: Mapping[str, str] | None = None,
         progress: Progress | None = None) -> Debuginfo:
    """Resolve a module spec (see locate.py) and open its index, building it on first use."""
    source = resolve(spec, release=release, overrides=overrides)
    return open_debuginfo(source.path, module=source.module, progress=progress)


__all__ = [
    "VOID", "Access", "AccessStep", "Array", "Base", "Debuginfo", "DebuginfoError", "DebuginfoSource", "Decl",
    "Enum", "Enumerator", "Function", "FunctionType", "InlineSite", "Location", "LocationRange", "Member", "MemberInfo",
    "ModuleSpec", "Param", "Pointer", "Progress", "Qualified", "Struct", "Type", "TypeId", "TypeName", "Typedef",
    "UnknownName", "Variable", "Void", "load", "open_debuginfo", "parse_spec", "resolve",
]
