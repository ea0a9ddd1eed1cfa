"""What generated code reads from: the @cast module string, the probe point family, kernel or user memory.

`--module openafs` (or module("openafs"), kernel:openafs, a path to openafs.ko) reads kernel memory through
@cast(p, "T", "kernel:openafs") and probes module("openafs").function(...); `--module kernel` uses "kernel"
and kernel.function(...); process("/bin/prog") or a path to an executable reads user memory through
@cast(p, "T", "/bin/prog") (stap's module argument for user space is the file path) and user_* readers.
`--header linux/fs.h` appends stap's header fallback ("kernel:kernel<linux/fs.h>"): where no kernel
debuginfo exists stap compiles the header to learn the types.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from tapkit.debuginfo import Debuginfo, DebuginfoSource


@dataclass(frozen=True, slots=True)
class GenTarget:
    """How generated code names one module: kind is "kernel", "module" or "process"."""

    kind: str
    name: str  # module name ("openafs"), "kernel", or the executable's absolute path
    headers: tuple[str, ...] = ()

    @property
    def user(self) -> bool:
        return self.kind == "process"

    @property
    def cast_module(self) -> str:
        """@cast's third argument."""
        if self.kind == "process":
            return self.name
        base = "kernel" if self.kind == "kernel" else f"kernel:{self.name}"
        return ":".join([base, *(f"kernel<{h}>" for h in self.headers)])

    @property
    def probe_point(self) -> str:
        """The probe point family functions are found in: kernel, module("M") or process("PATH")."""
        if self.kind == "kernel":
            return "kernel"
        if self.kind == "module":
            return f'module("{self.name}")'
        return f'process("{self.name}")'

    @property
    def string_reader(self) -> str:
        return "user_string_n" if self.user else "kernel_string_n"


def target_for(source: DebuginfoSource, info: Debuginfo, headers: tuple[str, ...] = ()) -> GenTarget:
    """The GenTarget for where `tapkit.debuginfo.resolve` found a spec's types (info: its opened index)."""
    spec = source.spec
    if spec.kind == "kernel" or source.module in ("kernel", "vmlinux"):
        return GenTarget("kernel", "kernel", headers)
    if spec.kind == "module" or info.source == "btf" or info.meta.get("elf_type") == 1:  # ET_REL: a .ko
        return GenTarget("module", source.module.replace("-", "_"), headers)
    return GenTarget("process", os.path.realpath(source.binary or source.path))
