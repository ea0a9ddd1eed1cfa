"""Fixtures for live-probe tests: small C programs built with gcc -g, cached under the tapkit cache dir."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.tooling import REPO, compile_c, fixture_cache

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "fixtures"


def build(name: str, sources: list[Path], *flags: str, shared: bool = False, after: tuple[str, ...] = ()) -> Path:
    """gcc -g FLAGS -o OUT SOURCES AFTER into the fixture cache (tests.tooling.compile_c)."""
    return compile_c(sources, fixture_cache() / "live" / name, *flags, *(["-shared", "-fPIC"] if shared else []),
                     after=after)


@pytest.fixture(scope="session")
def basic() -> dict[str, Path]:
    """basic.c four ways: -O0/-O2, PIE/non-PIE."""
    src = [SOURCES / "basic.c"]
    return {
        "O0-pie": build("basic-O0-pie", src, "-O0", "-fpie", "-pie"),
        "O2-pie": build("basic-O2-pie", src, "-O2", "-fpie", "-pie"),
        "O0-nopie": build("basic-O0-nopie", src, "-O0", "-fno-pie", "-no-pie"),
        "O2-nopie": build("basic-O2-nopie", src, "-O2", "-fno-pie", "-no-pie"),
    }


@pytest.fixture(scope="session")
def threads() -> Path:
    return build("threads", [SOURCES / "threads.c"], "-O2", after=("-pthread",))


@pytest.fixture(scope="session")
def libraries() -> dict[str, Path]:
    """libprobe.so linked into uselib, and a second copy (libprobe2.so) for uselib to dlopen."""
    lib = build("libprobe.so", [SOURCES / "libprobe.c"], "-O2", shared=True)
    second = fixture_cache() / "live" / "libprobe2.so"
    if not second.exists() or second.stat().st_mtime < lib.stat().st_mtime:
        shutil.copy(lib, second)
    exe = build("uselib", [SOURCES / "uselib.c"], "-O2",
                after=(f"-L{lib.parent}", "-lprobe", f"-Wl,-rpath,{lib.parent}", "-ldl"))
    return {"lib": lib, "dlopen": second, "exe": exe}


@pytest.fixture(scope="session")
def forker() -> Path:
    return build("forker", [SOURCES / "forker.c"], "-O0")


@pytest.fixture(scope="session")
def markers() -> Path:
    if not Path("/usr/include/x86_64-linux-gnu/sys/sdt.h").exists() and not Path("/usr/include/sys/sdt.h").exists():
        from tests.tooling import missing

        missing("sys/sdt.h (Debian package systemtap-sdt-dev)")
    return build("markers", [SOURCES / "markers.c"], "-O2")


@pytest.fixture(scope="session")
def afsim() -> dict[str, Path]:
    src = [REPO / "examples" / "seed" / "afsim.c"]
    return {"O0": build("afsim-O0", src, "-O0"), "O2": build("afsim-O2", src, "-O2")}


@pytest.fixture(scope="session")
def signals() -> Path:
    return build("signals", [SOURCES / "signals.c"], "-O2")


@pytest.fixture(scope="session")
def debug_frame_only() -> Path:
    """basic.c with .debug_frame instead of .eh_frame (no unwind tables in the loaded image)."""
    return build("basic-debug-frame", [SOURCES / "basic.c"], "-O2", "-fno-asynchronous-unwind-tables",
                 "-fno-unwind-tables")


@pytest.fixture(scope="session")
def looper() -> Path:
    return build("looper", [SOURCES / "looper.c"], "-O0")


@pytest.fixture(scope="session")
def pretty() -> Path:
    return build("pretty", [SOURCES / "pretty.c"], "-O0")


@pytest.fixture(scope="session")
def abi() -> Path:
    return build("abi", [SOURCES / "abi.c"], "-O0")


@pytest.fixture(scope="session")
def gaps() -> Path:
    return build("gaps", [SOURCES / "gaps.c"], "-O0", "-fno-builtin")
