"""User-space backtraces and symbols, printed the way stap's runtime prints them (runtime/sym.c, stack.c).

unwind() walks a stopped thread's stack with call frame information (.eh_frame/.debug_frame of
each mapped file), seeing through tapkit's return trampoline via the thread's shadow stack.
Symbols come from each file's ELF symbol table (.symtab, else .dynsym). stap needs -d/--ldd for
libraries a script does not name; tapkit symbolizes every mapped file.

Formats (sym.c _stp_snprint_addr; %p is %#x since stap 1.3):
  print_ubacktrace   " 0x401136 : afs_GetDCache+0x6/0x50 [/path/afsim]\\n" per frame (_STP_SYM_FULL);
                     at a return probe first "Returning from: <the function, same format>" and
                     "Returning to  : " before the first frame
  sprint_ubacktrace  "afs_GetDCache+0x6 [afsim]\\n" per frame (_STP_SYM_SIMPLE)
  ubacktrace         "0x401136 0x4011a2 " (_STP_SYM_NONE: hex and a space each)
  usymname           "afs_GetDCache" or the address in hex
  usymdata           "afs_GetDCache+0x6/0x50 [/path/afsim]" (_STP_SYM_DATA)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

from tapkit.runtime.live.cfi import RA_REG, SP_REG, CfiError, CfiTable, caller_registers, parse_tables
from tapkit.runtime.live.dwarfexpr import LocationError, MemoryPlace, ValuePlace, ValueUnavailable, evaluate
from tapkit.runtime.live.elfimage import ElfImage
from tapkit.runtime.live.ptrace import DWARF_REGS, Registers
from tapkit.runtime.live.space import AddressSpace, LoadedModule
from tapkit.runtime.memory import MemoryFault
from tapkit.runtime.strings import MAX_CHARS

MAXBACKTRACE = 20
_tables: weakref.WeakKeyDictionary[ElfImage, CfiTable] = weakref.WeakKeyDictionary()


def cfi_table(image: ElfImage) -> CfiTable:
    table = _tables.get(image)
    if table is None:
        table = parse_tables(image.cfi)
        _tables[image] = table
    return table


def registers_of(regs: Registers) -> dict[int, int]:
    """A thread's registers by DWARF number."""
    return {n: getattr(regs, name) for n, name in enumerate(DWARF_REGS)}


class _DictFrame:
    """A Frame (dwarfexpr) over a register dictionary, for CFI expressions."""

    bias = 0

    def __init__(self, regs: dict[int, int], read: Callable[[int, int], int]) -> None:
        self.regs = regs
        self.read = read

    def register(self, regno: int) -> int:
        if regno not in self.regs:
            raise ValueUnavailable(regno)
        return self.regs[regno]

    def read_word(self, address: int, size: int) -> int:
        return self.read(address, size)

    def cfa(self) -> int:
        raise LocationError("DW_OP_call_frame_cfa inside call frame information")

    def frame_base(self) -> int:
        raise LocationError("DW_OP_fbreg inside call frame information")

    def entry_register(self, regno: int) -> int:
        raise ValueUnavailable(regno)


def cfa_at(space: AddressSpace, regs: dict[int, int], pc: int) -> int:
    """The canonical frame address of the frame running at pc (for DW_OP_call_frame_cfa)."""
    mod = space.module_at(pc)
    if mod is None:
        raise LocationError(f"no call frame information for pc {pc:#x} (not in a mapped file)")
    row = cfi_table(mod.image).row_at(pc - mod.bias)
    if row is None:
        raise LocationError(f"no call frame information for pc {pc:#x} in {mod.path}")
    evaluate_expr = _expr_evaluator(space)
    try:
        from tapkit.runtime.live.cfi import compute_cfa

        return compute_cfa(row, regs, evaluate_expr)
    except CfiError as exc:
        raise LocationError(str(exc)) from None


def _expr_evaluator(space: AddressSpace) -> Callable[[bytes, dict[int, int], int | None], int]:
    def read(address: int, size: int) -> int:
        return int.from_bytes(space.memory.read(address, size), "little")

    def run(expr: bytes, regs: dict[int, int], cfa: int | None) -> int:
        place = evaluate(expr, _DictFrame(regs, read), initial=[cfa] if cfa is not None else None)
        if isinstance(place, MemoryPlace):
            return place.address
        if isinstance(place, ValuePlace):
            return place.value
        raise CfiError("a call frame expression did not yield an address")

    return run


def unwind(space: AddressSpace, regs: Registers, shadow: list[tuple[int, int]] | None = None,
           limit: int = MAXBACKTRACE) -> list[int]:
    """Return addresses from the current pc outwards. shadow: (stack slot, real return address) of
    calls whose return address tapkit's trampoline replaced."""
    current = registers_of(regs)
    pcs = [current[RA_REG]]
    evaluate_expr = _expr_evaluator(space)
    replaced = dict(shadow or ())

    def read_word(address: int) -> int:
        return int.from_bytes(space.memory.read(address, 8), "little")

    first = True
    while len(pcs) < limit:
        pc = current[RA_REG]
        mod = space.module_at(pc)
        if mod is None:
            break
        table = cfi_table(mod.image)
        row = table.row_at(pc - mod.bias - (0 if first else 1))
        if row is None:
            break
        try:
            caller, cfa = caller_registers(row, current, read_word, evaluate_expr)
        except (MemoryFault, CfiError, LocationError, ValueUnavailable):
            break
        ra = caller.get(RA_REG, 0)
        if space.trampoline and ra == space.trampoline:  # a probed call: the real return address
            ra = replaced.get(cfa - 8, 0)
            caller[RA_REG] = ra
        if ra == 0 or caller.get(SP_REG, 0) <= current.get(SP_REG, 0):
            break
        pcs.append(ra)
        current = caller
        first = False
    return pcs


# ---- symbols ----


def lookup(space: AddressSpace, address: int) -> tuple[LoadedModule | None, str | None, int, int]:
    """(module, symbol name, offset, size): offset from the symbol, or from the module's load address."""
    mod = space.module_at(address)
    if mod is None:
        return None, None, 0, 0
    found = mod.image.nearest_function(address - mod.bias)
    if found is None:
        return mod, None, address - mod.start, mod.end - mod.start
    sym, size = found
    return mod, sym.name, address - mod.bias - sym.address, size


def format_full(space: AddressSpace, address: int) -> str:
    """_STP_SYM_FULL: " 0x... : name+0x../0x.. [path]\\n"."""
    mod, name, offset, size = lookup(space, address)
    if name and mod:
        return f" {address:#x} : {name}+{offset:#x}/{size:#x} [{mod.path}]\n"
    if name:
        return f" {address:#x} : {name}+{offset:#x}/{size:#x}\n"
    if mod:
        return f" {address:#x} [{mod.path}+{offset:#x}/{size:#x}]\n"
    return f" {address:#x}\n"


def format_simple(space: AddressSpace, address: int) -> str:
    mod, name, offset, _ = lookup(space, address)
    base = mod.path.rsplit("/", 1)[-1] if mod else None
    if name and base:
        return f"{name}+{offset:#x} [{base}]\n"
    if name:
        return f"{name}+{offset:#x}\n"
    if base:
        return f"{address:#x} [{base}+{offset:#x}]\n"
    return f"{address:#x}\n"


def usymname(space: AddressSpace, address: int) -> str:
    _, name, _, _ = lookup(space, address)
    return name if name else f"{address & 0xFFFFFFFFFFFFFFFF:#x}"


def usymdata(space: AddressSpace, address: int) -> str:
    mod, name, offset, size = lookup(space, address)
    if name and mod:
        return f"{name}+{offset:#x}/{size:#x} [{mod.path}]"
    if name:
        return f"{name}+{offset:#x}/{size:#x}"
    if mod:
        return f"{address:#x} [{mod.path}+{offset:#x}/{size:#x}]"
    return f"{address & 0xFFFFFFFFFFFFFFFF:#x}"


def umodname(space: AddressSpace, address: int) -> str | None:
    mod = space.module_at(address)
    return mod.path if mod else None


def print_ubacktrace(space: AddressSpace, pcs: list[int], returning_from: int | None = None) -> str:
    out = []
    if returning_from is not None:
        out.append("Returning from: " + format_full(space, returning_from))
        out.append("Returning to  : ")
    out.extend(format_full(space, pc) for pc in pcs)
    return "".join(out)


def sprint_ubacktrace(space: AddressSpace, pcs: list[int]) -> str:
    return "".join(format_simple(space, pc) for pc in pcs)[:MAX_CHARS]


def ubacktrace(pcs: list[int]) -> str:
    return "".join(f"{pc:#x} " for pc in pcs)[:MAX_CHARS]
