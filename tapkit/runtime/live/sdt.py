"""SDT markers (<sys/sdt.h> STAP_PROBEn / DTRACE_PROBEn): their argument strings and reading $argN.

Each marker's note (elfimage.SdtNote) carries its arguments as assembler operands with a size:
"-4@%edi 8@-16(%rbp) 8@$42 -4@counter(%rip) 8@8(%rax,%rbx,4)". A negative size is signed.
parse_arguments() turns the string into SdtArgument values once; read() evaluates one at a hit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tapkit.runtime.live.elfimage import ElfImage

if TYPE_CHECKING:
    from tapkit.runtime.live.engine import LiveContext

# Register spellings by width, mapped to the user_regs_struct field of the full register.
_REGS: dict[str, tuple[str, int]] = {}
for _full, _names in {
    "rax": ("rax", "eax", "ax", "al"), "rbx": ("rbx", "ebx", "bx", "bl"), "rcx": ("rcx", "ecx", "cx", "cl"),
    "rdx": ("rdx", "edx", "dx", "dl"), "rsi": ("rsi", "esi", "si", "sil"), "rdi": ("rdi", "edi", "di", "dil"),
    "rbp": ("rbp", "ebp", "bp", "bpl"), "rsp": ("rsp", "esp", "sp", "spl"),
}.items():
    for _name, _width in zip(_names, (8, 4, 2, 1), strict=True):
        _REGS[_name] = (_full, _width)
for _n in range(8, 16):
    for _suffix, _width in (("", 8), ("d", 4), ("w", 2), ("b", 1)):
        _REGS[f"r{_n}{_suffix}"] = (f"r{_n}", _width)
_REGS["rip"] = ("rip", 8)
for _name in ("ah", "bh", "ch", "dh"):
    _REGS[_name] = ("r" + _name[0] + "x", -1)  # the second byte

_MEMORY = re.compile(r"^(?P<disp>[^(]*)\((?P<base>%\w+)?(?:,(?P<index>%\w+)(?:,(?P<scale>\d+))?)?\)$")


class SdtError(ValueError):
    """An argument string this reader does not understand."""


@dataclass(frozen=True, slots=True)
class SdtArgument:
    """One marker argument: size in bytes, signedness, and where: a constant, a register, or memory at
    displacement (+ a symbol's address) + base + index * scale."""

    text: str
    size: int
    signed: bool
    constant: int | None = None
    register: str | None = None
    high_byte: bool = False
    base: str | None = None
    index: str | None = None
    scale: int = 1
    displacement: int = 0
    symbol: str | None = None

    def read(self, ctx: LiveContext) -> int:
        regs = ctx.regs
        if self.constant is not None:
            raw = self.constant
        elif self.register is not None:
            raw = getattr(regs, self.register)
            if self.high_byte:
                raw >>= 8
        else:
            address = self.displacement
            if self.symbol is not None:
                module = ctx.module
                if module is None or self.symbol not in module.image.by_name:
                    raise SdtError(f"SDT argument {self.text!r}: no symbol {self.symbol!r}")
                address += module.image.by_name[self.symbol].address + module.bias
            elif self.base == "rip":
                raise SdtError(f"SDT argument {self.text!r}: rip-relative without a symbol")
            if self.base is not None and self.base != "rip":
                address += getattr(regs, self.base)
            if self.index is not None:
                address += getattr(regs, self.index) * self.scale
            raw = int.from_bytes(ctx.memory.read(address & 0xFFFFFFFFFFFFFFFF, self.size, True), "little")
        bits = 8 * self.size
        raw &= (1 << bits) - 1
        if self.signed and raw >> (bits - 1):
            raw -= 1 << bits
        return raw


def parse_arguments(text: str) -> tuple[SdtArgument, ...]:
    return tuple(parse_argument(part) for part in text.split())


def parse_argument(text: str) -> SdtArgument:
    size_text, at, operand = text.partition("@")
    if not at:
        size, operand = 8, text  # very old notes have no size: a long
        signed = True
    else:
        try:
            size = int(size_text)
        except ValueError:
            raise SdtError(f"SDT argument {text!r}: bad size {size_text!r}") from None
        signed = size < 0
        size = abs(size)
    if size not in (1, 2, 4, 8):
        raise SdtError(f"SDT argument {text!r}: size {size} is not 1, 2, 4 or 8")
    if operand.startswith("$"):
        try:
            return SdtArgument(text, size, signed, constant=int(operand[1:], 0))
        except ValueError:
            raise SdtError(f"SDT argument {text!r}: bad constant") from None
    if operand.startswith("%"):
        reg = _REGS.get(operand[1:])
        if reg is None:
            raise SdtError(f"SDT argument {text!r}: unknown register {operand}")
        return SdtArgument(text, size, signed, register=reg[0], high_byte=reg[1] == -1)
    m = _MEMORY.match(operand)
    if m is None:
        raise SdtError(f"SDT argument {text!r}: cannot read operand {operand!r}")
    disp_text = m.group("disp").strip()
    symbol = None
    displacement = 0
    if disp_text:
        sm = re.fullmatch(r"(?P<sym>[A-Za-z_.$][\w.$@]*)?(?P<off>[+-]?(?:0x[0-9a-fA-F]+|\d+))?", disp_text)
        if sm is None or not (sm.group("sym") or sm.group("off")):
            raise SdtError(f"SDT argument {text!r}: cannot read displacement {disp_text!r}")
        symbol = sm.group("sym")
        displacement = int(sm.group("off") or "0", 0)
    base = index = None
    if m.group("base"):
        base_reg = _REGS.get(m.group("base")[1:])
        if base_reg is None:
            raise SdtError(f"SDT argument {text!r}: unknown register {m.group('base')}")
        base = base_reg[0]
    if m.group("index"):
        index_reg = _REGS.get(m.group("index")[1:])
        if index_reg is None:
            raise SdtError(f"SDT argument {text!r}: unknown register {m.group('index')}")
        index = index_reg[0]
    return SdtArgument(text, size, signed, base=base, index=index, scale=int(m.group("scale") or 1),
                       displacement=displacement, symbol=symbol)


@dataclass(frozen=True, slots=True)
class Marker:
    """A marker site of one file: the note and its parsed arguments."""

    provider: str
    name: str
    pc: int
    semaphore: int
    arguments: tuple[SdtArgument, ...]


def markers(image: ElfImage, provider: str | None = None, name: str | None = None) -> list[Marker]:
    """The file's marker sites, filtered by exact provider/name when given."""
    out = []
    for note in image.sdt_notes:
        if (provider is None or note.provider == provider) and (name is None or note.name == name):
            out.append(Marker(note.provider, note.name, note.pc, note.semaphore, parse_arguments(note.args)))
    return out
