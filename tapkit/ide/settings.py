"""What the editor tells the analysis: tapset dirs, kernel release and config, debuginfo, guru mode.

The object is the one vscode-ext/README.md documents (initializationOptions, the
`tapkit` section of workspace/configuration, didChangeConfiguration); any editor may
send it. Wrongly typed values fall back to their defaults and are reported as problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tapkit.target import Target


@dataclass(frozen=True, slots=True)
class Settings:
    tapset_dirs: tuple[Path, ...] = ()  # searched like `stap -I DIR`, in order
    release: str = ""  # "" is the running kernel
    kernel_config: Path | None = None
    debuginfo: tuple[Path, ...] = ()  # for the semantic pass (round two)
    guru_mode: bool = False

    def target(self) -> Target:
        kwargs: dict[str, object] = {"guru_mode": self.guru_mode}
        if self.release:
            kwargs["release"] = self.release
        if self.kernel_config is not None:
            kwargs["kernel_config_file"] = str(self.kernel_config)
        return Target(**kwargs)  # type: ignore[arg-type]


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
        debuginfo=paths("debuginfo"),
        guru_mode=guru,
    )
    if settings.kernel_config is not None and not settings.kernel_config.is_file():
        problems.append(SettingsProblem("kernelConfig", f"kernel config {settings.kernel_config} does not exist"))
    return settings, tuple(problems)


def _kind(value: object) -> str:
    return "null" if value is None else type(value).__name__
