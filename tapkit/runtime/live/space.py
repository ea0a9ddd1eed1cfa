"""One traced address space: its mapped ELF files, its breakpoints, and the scratch pages tapkit adds.

Processes share an AddressSpace while they share memory (a vfork child until it execs); a fork
child gets a copy. Breakpoints are int3 bytes written through /proc/PID/mem; each remembers the
instruction it covers so a thread can resume without removing it:

  - a copy of the instruction runs out of line in a scratch slot followed by a jump back
    (x86.relocate); rip-relative operands need a slot within 2 GiB, so scratch regions are
    placed near the module they serve;
  - relative branches are emulated (x86.emulate_branch);
  - anything else is stepped in place with the process's other threads stopped (tracer.py).

The first scratch region also holds a `syscall; int3` stub (to run mmap in the tracee for more
regions) and the return trampoline: return probes replace a return address with it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

from tapkit.debuginfo.model import DebuginfoError
from tapkit.runtime.live.elfimage import ElfImage
from tapkit.runtime.live.procfs import Mapping, ProcessMemory, read_maps
from tapkit.runtime.live.x86 import DecodeError, Instruction, decode, relocate

INT3 = 0xCC
SLOT = 32  # bytes per out-of-line slot: an instruction (<= 15) and an absolute jump back (14)
REGION = 64 * 1024
STUB_OFFSET = 0  # mov $nr, %eax; syscall; int3 (rewritten for each call)
TRAMPOLINE_OFFSET = 16  # int3: where probed functions return to
FIRST_SLOT = 64
REACH = (1 << 31) - REGION  # what a rip-relative disp32 can span, with room for the region itself


@dataclass(eq=False, slots=True)
class LoadedModule:
    """An ELF file mapped in the process: link-time address + bias = run-time address."""

    path: str
    image: ElfImage
    bias: int
    start: int
    end: int
    inode: int

    def contains(self, address: int) -> bool:
        return self.start <= address < self.end


@dataclass(eq=False, slots=True)
class ScratchRegion:
    start: int
    size: int
    next_slot: int = FIRST_SLOT

    def take_slot(self) -> int | None:
        if self.next_slot + SLOT > self.size:
            return None
        addr = self.start + self.next_slot
        self.next_slot += SLOT
        return addr


@dataclass(eq=False, slots=True)
class Breakpoint:
    """An int3 at address. actions run on each hit; internal breakpoints (the dynamic linker hook) are
    tapkit's own. resume is "xol" (slot holds the copy), "branch" (emulate) or "step"."""

    address: int
    original: bytes  # the covered instruction's bytes as they were (first byte restored on removal)
    insn: Instruction | None
    resume: str
    slot: int = 0
    actions: list[object] = field(default_factory=list)


class AddressSpace:
    """Breakpoints, modules and scratch regions of one memory image (see the module docstring)."""

    def __init__(self, pid: int, memory: ProcessMemory | None = None) -> None:
        self.pid = pid
        self.memory = memory if memory is not None else ProcessMemory(pid)
        self.breakpoints: dict[int, Breakpoint] = {}
        self.modules: list[LoadedModule] = []
        self.regions: list[ScratchRegion] = []
        self.semaphores: dict[int, int] = {}  # address -> how much tapkit added
        self.stub = 0
        self.trampoline = 0

    def fork_copy(self, child_pid: int) -> AddressSpace:
        """The child's space after fork: same contents (breakpoints and scratch pages were copied)."""
        child = AddressSpace(child_pid)
        child.breakpoints = {a: Breakpoint(b.address, b.original, b.insn, b.resume, b.slot, list(b.actions))
                             for a, b in self.breakpoints.items()}
        child.modules = list(self.modules)
        child.regions = [ScratchRegion(r.start, r.size, r.next_slot) for r in self.regions]
        child.semaphores = dict(self.semaphores)
        child.stub, child.trampoline = self.stub, self.trampoline
        return child

    # ---- modules ----

    def scan_modules(self) -> list[LoadedModule]:
        """Re-read /proc/PID/maps; returns the modules that appeared since the last scan.

        A module starts at a mapping of its file at offset 0 and takes in the file's later mappings."""
        known = {(m.path, m.start): m for m in self.modules}
        found: list[LoadedModule] = []
        latest: dict[tuple[str, int], LoadedModule] = {}
        for mp in read_maps(self.pid):
            if not mp.path.startswith("/") or mp.inode == 0 or mp.path.endswith(" (deleted)"):
                continue
            key = (mp.path, mp.inode)
            mod = latest.get(key)
            if mp.offset == 0 or mod is None:
                mod = known.get((mp.path, mp.start))
                if mod is None:
                    try:
                        image = ElfImage.load(mp.path)
                    except (OSError, ValueError, DebuginfoError):  # not an x86_64 ELF file (locale archive...)
                        continue
                    bias = image.bias_for(mp.start, mp.offset)
                    if bias is None:
                        continue
                    mod = LoadedModule(mp.path, image, bias, mp.start, mp.end, mp.inode)
                latest[key] = mod
                found.append(mod)
            mod.end = max(mod.end, mp.end)
        before = {id(m) for m in self.modules}
        now = {id(m) for m in found}
        for gone in (m for m in self.modules if id(m) not in now):  # unmapped (dlclose): their int3s went too
            for address in [a for a in self.breakpoints if gone.contains(a)]:
                del self.breakpoints[address]
        self.modules = sorted(found, key=lambda m: m.start)
        return [m for m in self.modules if id(m) not in before]

    def module_at(self, address: int) -> LoadedModule | None:
        for mod in self.modules:
            if mod.contains(address):
                return mod
        return None

    # ---- scratch ----

    def region_near(self, address: int) -> ScratchRegion | None:
        for region in self.regions:
            if abs(region.start - address) < REACH and region.next_slot + SLOT <= region.size:
                return region
        return None

    def free_spot_near(self, module_start: int, module_end: int) -> int | None:
        """A page-aligned address for a new region within rip-relative reach of the module: the top of a
        free gap (below the next mapping), never above the heap (brk grows there) or below the stack."""
        maps = sorted(read_maps(self.pid), key=lambda m: m.start)
        best: int | None = None
        prev: Mapping | None = None
        for i in range(len(maps) + 1):
            upper = maps[i] if i < len(maps) else None
            gap_lo = prev.end if prev is not None else 0x10000
            gap_hi = upper.start if upper is not None else 0x7FFFFFFFF000
            prev = upper
            if gap_hi - gap_lo < REGION + 0x2000 or (upper is not None and upper.path == "[stack]"):
                continue
            if i > 0 and maps[i - 1].path == "[heap]":
                continue
            candidate = gap_hi - REGION - 0x1000
            if candidate < module_end - REACH or candidate + REGION > module_start + REACH:
                continue
            if best is None or abs(candidate - module_start) < abs(best - module_start):
                best = candidate
        return best

    def add_region(self, start: int) -> ScratchRegion:
        region = ScratchRegion(start, REGION)
        if not self.regions:
            self.stub = start + STUB_OFFSET
            self.trampoline = start + TRAMPOLINE_OFFSET
            self.memory.write(self.trampoline, bytes([INT3]))
        self.regions.append(region)
        return region

    # ---- breakpoints ----

    def insert(self, address: int, action: object, allocate: Callable[[int], ScratchRegion | None],
               out_of_line: bool = True) -> Breakpoint:
        """Add action at address, writing the int3 if this is the first one there. out_of_line False:
        instructions are stepped in place (the slower, simpler way)."""
        bp = self.breakpoints.get(address)
        if bp is not None:
            bp.actions.append(action)
            return bp
        code = self.memory.read(address, 16)
        if code[0] == INT3:
            raise OSError(f"cannot probe {address:#x}: an int3 is already there (another debugger?)")
        try:
            insn: Instruction | None = decode(code)
        except DecodeError:
            insn = None
        resume, slot = "step", 0
        if insn is not None and insn.kind == "branch":
            resume = "branch"
        elif out_of_line and insn is not None and insn.kind in ("plain", "rip_relative"):
            region = self.region_near(address) if insn.kind == "rip_relative" else \
                (self.region_near(address) or (self.regions[0] if self.regions else None))
            if region is None:
                region = allocate(address)
            taken = region.take_slot() if region is not None else None
            copy = relocate(insn, address, taken) if taken is not None else None
            if taken is not None and copy is not None:
                self.memory.write(taken, copy)
                resume, slot = "xol", taken
        original = insn.raw if insn is not None else code[:1]
        bp = Breakpoint(address, original, insn, resume, slot, [action])
        self.memory.write(address, bytes([INT3]))
        self.breakpoints[address] = bp
        return bp

    def remove_action(self, address: int, action: object) -> None:
        bp = self.breakpoints.get(address)
        if bp is None:
            return
        if action in bp.actions:
            bp.actions.remove(action)
        if not bp.actions:
            self.remove(address)

    def remove(self, address: int) -> None:
        bp = self.breakpoints.pop(address, None)
        if bp is not None:
            self.memory.write(address, bp.original[:1])

    def remove_all(self) -> list[str]:
        """Take every breakpoint out; returns what could not be restored (unmapped code is fine)."""
        problems = []
        for address in list(self.breakpoints):
            try:
                self.remove(address)
            except OSError as exc:
                problems.append(f"{address:#x}: {exc}")
        for address, count in list(self.semaphores.items()):
            try:
                value = int.from_bytes(self.memory.read(address, 2), "little")
                self.memory.write(address, max(value - count, 0).to_bytes(2, "little"))
            except OSError as exc:
                problems.append(f"semaphore {address:#x}: {exc}")
            del self.semaphores[address]
        return problems

    def bump_semaphore(self, address: int) -> None:
        """SDT semaphores count the tracers interested in a marker; the program tests them for non-zero."""
        value = int.from_bytes(self.memory.read(address, 2), "little")
        self.memory.write(address, ((value + 1) & 0xFFFF).to_bytes(2, "little"))
        self.semaphores[address] = self.semaphores.get(address, 0) + 1

    def close(self) -> None:
        self.memory.close()


def same_file(path: str, inode: int, target: str) -> bool:
    """Whether a mapping (path, inode) is the file target names."""
    try:
        st = os.stat(target)
    except OSError:
        return False
    return st.st_ino == inode and os.path.realpath(target) == os.path.realpath(path)
