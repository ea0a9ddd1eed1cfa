"""What the editor tells the analysis: tapset dirs, kernel release and config, debuginfo, guru mode.

debuginfo entries follow `stap --debuginfo` (and tapkit check's): a file, whose module name is
its file name (openafs.ko -> openafs), or NAME=FILE; a directory stands for the .ko/.debug files in it.

The object is the one vscode-ext/README.md documents (initializationOptions, the
`tapkit` section of workspace/configuration, didChangeConfiguration); any editor may
send it. Wrongly typed values fall back to their defaults and are reported as problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tapkit.semantic.check import default_release
from tapkit.semantic.options import debuginfo_overrides
from tapkit.target import Target

DEBUGINFO_SUFFIXES = (".ko", ".ko.debug", ".debug")  # what a debuginfo directory is searched for


@dataclass(frozen=True, slots=True)
class Settings:
    tapset_dirs: tuple[Path, ...] = ()  # searched like `stap -I DIR`, in order
    release: str = ""  # "" is the running kernel
    kernel_config: Path | None = None
    debuginfo: tuple[str, ...] = ()  # like `stap --debuginfo`: "PATH" or "NAME=PATH", paths absolute
    guru_mode: bool = False

    def target(self) -> Target:
        """The target `tapkit check` would use: an empty release is the running kernel when its headers
        are installed, else the newest release that has them."""
        config = str(self.kernel_config) if self.kernel_config is not None else None
        return Target(release=self.release or default_release(), guru_mode=self.guru_mode,
                      kernel_config_file=config)

    def debuginfo_overrides(self) -> dict[str, str]:
        """Module name -> file, as the semantic pass and tapkit.debuginfo take --debuginfo."""
        return debuginfo_overrides(self.debuginfo)


@dataclass(frozen=True, slots=True)
class SettingsProblem:
    key: str
    message: str


def settings_from_json(value: object, roots: Sequence[Path] = ()) -> tuple[Settings, tuple[SettingsProblem, ...]]:
    """Read the settings object; relative paths are taken from the first workspace root.

    Accepts the bare object or one wrapped as {"tapkit": {...}} (didChangeConfiguration's shape).
    """
    problems: list[SettingsProblem] = []
    if isinstance(value, dict) and isinstance(value.get("tapkit"), dict):
        value = value["tapkit"]
    if value is None:
        return Settings(), ()
    if not isinstance(value, dict):
        return Settings(), (SettingsProblem("", f"settings must be an object, got {_kind(value)}"),)
    base = roots[0] if roots else None

    def path(text: str) -> Path:
        p = Path(text).expanduser()
        return p if p.is_absolute() or base is None else base / p

    def paths(key: str) -> tuple[Path, ...]:
        raw = value.get(key, [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            problems.append(SettingsProblem(key, f"{key} must be a list of paths, got {_kind(raw)}"))
            return ()
        return tuple(path(x) for x in raw if x)

    def text(key: str) -> str:
        raw = value.get(key, "")
        if raw is None:
            return ""
        if not isinstance(raw, str):
            problems.append(SettingsProblem(key, f"{key} must be a string, got {_kind(raw)}"))
            return ""
        return raw.strip()

    def debuginfo() -> tuple[str, ...]:
        raw = value.get("debuginfo", [])
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            problems.append(SettingsProblem("debuginfo", f"debuginfo must be a list of paths, got {_kind(raw)}"))
            return ()
        out: list[str] = []
        for entry in (x.strip() for x in raw if x.strip()):
            name, sep, file = entry.partition("=")
            if not sep or name.startswith(("/", ".", "~")):  # a bare path (stap's own test for NAME=)
                name, file = "", entry
            found = path(file)
            if found.is_dir():
                files = sorted(str(f) for f in found.iterdir() if f.name.endswith(DEBUGINFO_SUFFIXES))
                if not files:
                    problems.append(SettingsProblem("debuginfo", f"debuginfo directory {found} holds no "
                                                                 f"{', '.join(DEBUGINFO_SUFFIXES)} files"))
                out += files
            elif found.is_file():
                out.append(f"{name}={found}" if name else str(found))
            else:
                problems.append(SettingsProblem("debuginfo", f"debuginfo file {found} does not exist"))
        return tuple(out)

    guru = value.get("guruMode", False)
    if not isinstance(guru, bool):
        problems.append(SettingsProblem("guruMode", f"guruMode must be true or false, got {_kind(guru)}"))
        guru = False
    config = text("kernelConfig")
    tapset_dirs = paths("tapsetDirs")
    for d in tapset_dirs:
        if not d.is_dir():
            problems.append(SettingsProblem("tapsetDirs", f"tapset directory {d} does not exist"))
    settings = Settings(
        tapset_dirs=tuple(d for d in tapset_dirs if d.is_dir()),
        release=text("release"),
        kernel_config=path(config) if config else None,
        debuginfo=debuginfo(),
        guru_mode=guru,
    )
    if settings.kernel_config is not None and not settings.kernel_config.is_file():
        problems.append(SettingsProblem("kernelConfig", f"kernel config {settings.kernel_config} does not exist"))
    return settings, tuple(problems)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
