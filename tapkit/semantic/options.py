"""What an analysis is run for: the target, extra tapset directories and debuginfo overrides."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tapkit.target import Target


@dataclass(frozen=True)
class AnalysisOptions:
    """target carries release, arch and guru mode; debuginfo maps a module name ("kernel", "openafs")
    or "*" to a file with its DWARF, as `--debuginfo` does. user_probes names what serves process(...)
    probes: "kernel" (stap's inode-uprobes, whose .return needs the release's uretprobes) or "live"
    (tapkit run's ptrace engine, which places return probes itself on any kernel)."""

    target: Target = field(default_factory=Target)
    include_dirs: tuple[str, ...] = ()
    debuginfo: Mapping[str, str] = field(default_factory=dict)
    user_probes: str = "kernel"

    @property
    def guru(self) -> bool:
        return self.target.guru_mode


def debuginfo_overrides(paths: tuple[str, ...]) -> dict[str, str]:
    """`--debuginfo PATH` values to overrides: "NAME=PATH" names a module, a bare PATH names itself."""
    out: dict[str, str] = {}
    for p in paths:
        from tapkit.debuginfo.files import module_name

        if "=" in p and not p.startswith("/"):
            name, _, path = p.partition("=")
            out[name] = path
        else:
            out[module_name(p)] = p
    return out
