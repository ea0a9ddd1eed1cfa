"""What a script is compiled for: kernel release, arch, runtime, stap version, kernel config.

The preprocessor's `%( kernel_v >= "5.0" %? … %)` conditions and the debuginfo
module search both read from here, so both agree on what `-r RELEASE` means.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from tapkit.values import Value, field

STAP_VERSION = "4.8"  # the SystemTap whose language and verdicts tapkit mirrors

_ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "i686": "i386", "i586": "i386"}


def host_release() -> str:
    return os.uname().release  # what platform.release() returns, without importing platform


def normalize_arch(machine: str) -> str:
    return _ARCH_ALIASES.get(machine, machine)


class Target(Value, slots=False):
    release: str = field(default_factory=host_release)
    arch: str = field(default_factory=lambda: normalize_arch(os.uname().machine))
    runtime: str = "kernel"
    stap_version: str = STAP_VERSION
    guru_mode: bool = False
    privilege: str = "stapdev"
    kernel_config_file: str | None = None

    @cached_property
    def kernel_config_path(self) -> str | None:
        """The .config the CONFIG_* values come from; None: there is none, so every CONFIG_ is unset."""
        candidates = [self.kernel_config_file] if self.kernel_config_file else [
            f"/lib/modules/{self.release}/build/.config",
            f"/boot/config-{self.release}",
        ]
        return next((name for name in candidates if name and os.path.exists(name)), None)

    @cached_property
    def kernel_config(self) -> dict[str, str]:
        """CONFIG_* values of the target kernel ("y", "m", a number or a quoted string)."""
        path = self.kernel_config_path
        return parse_kernel_config(Path(path).read_text(errors="replace")) if path else {}

    @cached_property
    def kernel_config_digest(self) -> str:
        """A hash of the config file, for cache keys: cheaper than parsing it (~4 ms for a distro .config)."""
        from tapkit.cache import content_hash

        path = self.kernel_config_path
        try:
            return content_hash(Path(path).read_bytes()) if path else ""
        except OSError:
            return ""

    @property
    def kernel_version(self) -> str:
        """`kernel_v`: the release without its local suffix ("6.1.0-56-amd64" -> "6.1.0")."""
        return self.release.split("-", 1)[0]


def parse_kernel_config(text: str) -> dict[str, str]:
    config: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, _, value = line.partition("=")
            config[key] = value
    return config


def newest_installed_release() -> str | None:
    """The newest release with headers under /lib/modules (what stap-offline uses)."""
    root = Path("/lib/modules")
    if not root.is_dir():
        return None
    releases = sorted((p.name for p in root.iterdir() if (p / "build").exists()), key=_version_key)
    return releases[-1] if releases else None


def _version_key(release: str) -> list[int | str]:
    parts: list[int | str] = []
    for chunk in release.replace("-", ".").split("."):
        parts.append(int(chunk) if chunk.isdigit() else chunk)
    return parts
