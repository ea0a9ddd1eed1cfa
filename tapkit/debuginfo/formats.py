"""The binary formats tapkit reads, declared once as data: ELF records, DWARF codes and forms, BTF kinds.

Readers (elf.py, dwarf.py, btf.py) walk these tables; nothing else in the package spells a
magic number. Only the codes tapkit interprets are named; unknown ones are still skipped
correctly because every form's encoding is known.
"""

from __future__ import annotations

import struct
from enum import IntEnum

# --- ELF ---------------------------------------------------------------------------------------

ELF_MAGIC = b"\x7fELF"
ELFCLASS32, ELFCLASS64 = 1, 2
ELFDATA2LSB, ELFDATA2MSB = 1, 2
ET_REL, ET_EXEC, ET_DYN = 1, 2, 3
ELF_TYPE_NAMES = {ET_REL: "relocatable", ET_EXEC: "executable", ET_DYN: "shared object"}
SHT_NOBITS, SHT_SYMTAB, SHT_NOTE, SHT_RELA, SHT_REL = 8, 2, 7, 4, 9
SHF_ALLOC, SHF_EXECINSTR, SHF_COMPRESSED = 0x2, 0x4, 0x800
SHN_UNDEF, SHN_LORESERVE, SHN_ABS, SHN_XINDEX = 0, 0xFF00, 0xFFF1, 0xFFFF
NT_GNU_BUILD_ID = 3
ELFCOMPRESS_ZLIB = 1

EM_NAMES = {3: "i386", 62: "x86_64", 183: "arm64", 40: "arm", 243: "riscv", 21: "ppc64", 22: "s390"}


def elf_structs(cls: int, data: int) -> dict[str, struct.Struct]:
    """ELF record layouts for one class (32/64-bit) and byte order, keyed by record name."""
    e = "<" if data == ELFDATA2LSB else ">"
    if cls == ELFCLASS64:
        layouts = {
            # e_type e_machine e_version e_entry e_phoff e_shoff e_flags e_ehsize e_phentsize e_phnum
            # e_shentsize e_shnum e_shstrndx
            "ehdr": "HHIQQQIHHHHHH",
            # sh_name sh_type sh_flags sh_addr sh_offset sh_size sh_link sh_info sh_addralign sh_entsize
            "shdr": "IIQQQQIIQQ",
            "sym": "IBBHQQ",  # st_name st_info st_other st_shndx st_value st_size
            "rela": "QQq",  # r_offset r_info r_addend
            "rel": "QQ",
            "chdr": "IIQQ",  # ch_type ch_reserved ch_size ch_addralign
        }
    else:
        layouts = {
            "ehdr": "HHIIIIIHHHHHH",
            "shdr": "IIIIIIIIII",
            "sym": "IIIBBH",  # st_name st_value st_size st_info st_other st_shndx
            "rela": "IIi",
            "rel": "II",
            "chdr": "III",
        }
    layouts["nhdr"] = "III"  # n_namesz n_descsz n_type
    return {name: struct.Struct(e + fmt) for name, fmt in layouts.items()}


# Relocation types debug sections use, per machine: {type: width in bytes}; value = symbol + addend.
RELOC_X86_64 = {1: 8, 10: 4, 11: 4}  # R_X86_64_64, R_X86_64_32, R_X86_64_32S
RELOC_I386 = {1: 4}  # R_386_32
RELOC_AARCH64 = {257: 8, 258: 4}  # R_AARCH64_ABS64, R_AARCH64_ABS32
RELOC_BY_MACHINE = {62: RELOC_X86_64, 3: RELOC_I386, 183: RELOC_AARCH64}
RELOC_NONE = frozenset({0, 250})  # R_*_NONE codes


# --- DWARF ---------------------------------------------------------------------------------------

class Tag:
    """DW_TAG_* codes (plain ints: they key dicts and compare with raw values)."""

    array_type = 0x01
    class_type = 0x02
    enumeration_type = 0x04
    formal_parameter = 0x05
    label = 0x0A
    lexical_block = 0x0B
    member = 0x0D
    pointer_type = 0x0F
    reference_type = 0x10
    compile_unit = 0x11
    structure_type = 0x13
    subroutine_type = 0x15
    typedef = 0x16
    union_type = 0x17
    unspecified_parameters = 0x18
    inlined_subroutine = 0x1D
    ptr_to_member_type = 0x1F
    subrange_type = 0x21
    base_type = 0x24
    const_type = 0x26
    enumerator = 0x28
    subprogram = 0x2E
    variable = 0x34
    volatile_type = 0x35
    restrict_type = 0x37
    namespace = 0x39
    unspecified_type = 0x3B
    partial_unit = 0x3C
    imported_unit = 0x3D
    rvalue_reference_type = 0x42
    atomic_type = 0x47
    skeleton_unit = 0x4A


class At:
    """DW_AT_* codes."""

    sibling = 0x01
    location = 0x02
    name = 0x03
    byte_size = 0x0B
    bit_offset = 0x0C
    bit_size = 0x0D
    stmt_list = 0x10
    import_ = 0x18  # DW_AT_import of DW_TAG_imported_unit
    low_pc = 0x11
    high_pc = 0x12
    language = 0x13
    comp_dir = 0x1B
    const_value = 0x1C
    inline = 0x20
    producer = 0x25
    prototyped = 0x27
    lower_bound = 0x22
    upper_bound = 0x2F
    abstract_origin = 0x31
    artificial = 0x34
    count = 0x37
    data_member_location = 0x38
    decl_column = 0x39
    decl_file = 0x3A
    decl_line = 0x3B
    declaration = 0x3C
    encoding = 0x3E
    external = 0x3F
    frame_base = 0x40
    specification = 0x47
    type = 0x49
    entry_pc = 0x52
    ranges = 0x55
    call_file = 0x58
    call_line = 0x59
    data_bit_offset = 0x6B
    linkage_name = 0x6E
    str_offsets_base = 0x72
    addr_base = 0x73
    rnglists_base = 0x74
    loclists_base = 0x8C
    MIPS_linkage_name = 0x2007
    GNU_addr_base = 0x2133
    GNU_ranges_base = 0x2132


class Form:
    """DW_FORM_* codes."""

    addr = 0x01
    block2 = 0x03
    block4 = 0x04
    data2 = 0x05
    data4 = 0x06
    data8 = 0x07
    string = 0x08
    block = 0x09
    block1 = 0x0A
    data1 = 0x0B
    flag = 0x0C
    sdata = 0x0D
    strp = 0x0E
    udata = 0x0F
    ref_addr = 0x10
    ref1 = 0x11
    ref2 = 0x12
    ref4 = 0x13
    ref8 = 0x14
    ref_udata = 0x15
    indirect = 0x16
    sec_offset = 0x17
    exprloc = 0x18
    flag_present = 0x19
    strx = 0x1A
    addrx = 0x1B
    ref_sup4 = 0x1C
    strp_sup = 0x1D
    data16 = 0x1E
    line_strp = 0x1F
    ref_sig8 = 0x20
    implicit_const = 0x21
    loclistx = 0x22
    rnglistx = 0x23
    ref_sup8 = 0x24
    strx1 = 0x25
    strx2 = 0x26
    strx3 = 0x27
    strx4 = 0x28
    addrx1 = 0x29
    addrx2 = 0x2A
    addrx3 = 0x2B
    addrx4 = 0x2C
    GNU_addr_index = 0x1F01
    GNU_str_index = 0x1F02
    GNU_ref_alt = 0x1F20
    GNU_strp_alt = 0x1F21


# Fixed-size forms: struct codes; "A" is the address size, "O" the offset size (4 or 8), both per unit.
FIXED_FORMS: dict[int, str] = {
    Form.addr: "A", Form.data1: "B", Form.data2: "H", Form.data4: "I", Form.data8: "Q", Form.data16: "16s",
    Form.flag: "B", Form.strp: "O", Form.ref_addr: "O", Form.ref1: "B", Form.ref2: "H", Form.ref4: "I",
    Form.ref8: "Q", Form.sec_offset: "O", Form.ref_sup4: "I", Form.strp_sup: "O", Form.line_strp: "O",
    Form.ref_sig8: "Q", Form.ref_sup8: "Q", Form.strx1: "B", Form.strx2: "H", Form.strx4: "I",
    Form.addrx1: "B", Form.addrx2: "H", Form.addrx4: "I", Form.GNU_ref_alt: "O", Form.GNU_strp_alt: "O",
}
REF_FORMS = frozenset({Form.ref1, Form.ref2, Form.ref4, Form.ref8, Form.ref_udata})
STRX_FORMS = frozenset({Form.strx, Form.strx1, Form.strx2, Form.strx3, Form.strx4, Form.GNU_str_index})
ADDRX_FORMS = frozenset({Form.addrx, Form.addrx1, Form.addrx2, Form.addrx3, Form.addrx4, Form.GNU_addr_index})
# Forms whose value is a constant (as opposed to an address, reference, block or section offset).
CONSTANT_FORMS = frozenset({Form.data1, Form.data2, Form.data4, Form.data8, Form.sdata, Form.udata,
                            Form.implicit_const})
BLOCK_FORMS = frozenset({Form.block, Form.block1, Form.block2, Form.block4, Form.exprloc})

UT_compile, UT_type, UT_partial, UT_skeleton, UT_split_compile, UT_split_type = 1, 2, 3, 4, 5, 6

# DW_ATE_* base type encodings, as tapkit names them.
ENCODINGS = {1: "address", 2: "bool", 3: "complex", 4: "float", 5: "signed", 6: "signed_char",
             7: "unsigned", 8: "unsigned_char", 0x10: "utf"}
INLINE_NAMES = {0: "not_inlined", 1: "inlined", 2: "declared_not_inlined", 3: "declared_inlined"}

# Line program header content types (DWARF 5 directory/file entry formats).
LNCT_path, LNCT_directory_index = 1, 2

# Range and location list entry kinds (DWARF 5 .debug_rnglists / .debug_loclists).
# The two share codes 0-4; after that DW_LLE_default_location (5) shifts the rest by one.
RLE_end_of_list, RLE_base_addressx, RLE_startx_endx, RLE_startx_length = 0, 1, 2, 3
RLE_offset_pair, RLE_base_address, RLE_start_end, RLE_start_length = 4, 5, 6, 7
LLE_default_location, LLE_base_address, LLE_start_end, LLE_start_length, LLE_GNU_view_pair = 5, 6, 7, 8, 9
# DW_LLE_* code -> the DW_RLE_* code with the same encoding (default_location handled apart).
LLE_AS_RLE = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 6: 5, 7: 6, 8: 7}

# --- BTF -----------------------------------------------------------------------------------------

BTF_MAGIC = 0xEB9F


class BtfKind(IntEnum):
    UNKN = 0
    INT = 1
    PTR = 2
    ARRAY = 3
    STRUCT = 4
    UNION = 5
    ENUM = 6
    FWD = 7
    TYPEDEF = 8
    VOLATILE = 9
    CONST = 10
    RESTRICT = 11
    FUNC = 12
    FUNC_PROTO = 13
    VAR = 14
    DATASEC = 15
    FLOAT = 16
    DECL_TAG = 17
    TYPE_TAG = 18
    ENUM64 = 19


# Trailing data after each 12-byte btf_type: (record struct, records are counted by vlen ("v") or one ("1")).
BTF_TRAILERS: dict[int, tuple[str, str]] = {
    BtfKind.INT: ("I", "1"),
    BtfKind.ARRAY: ("III", "1"),  # element type, index type, nelems
    BtfKind.STRUCT: ("III", "v"),  # name_off, type, offset (bit offset, or bitfield size << 24 | offset)
    BtfKind.UNION: ("III", "v"),
    BtfKind.ENUM: ("Ii", "v"),  # name_off, value
    BtfKind.FUNC_PROTO: ("II", "v"),  # name_off, type
    BtfKind.VAR: ("I", "1"),  # linkage
    BtfKind.DATASEC: ("III", "v"),  # type, offset, size
    BtfKind.DECL_TAG: ("i", "1"),  # component_idx
    BtfKind.ENUM64: ("III", "v"),  # name_off, val_lo32, val_hi32
}
