"""process("EXE").library("LIB"): the shared libraries a name stands for, found as stap finds them.

A name with a slash is a path. A bare name without glob characters is looked up on $LD_LIBRARY_PATH
first; otherwise (and when that finds nothing) it is matched, as the glob "*NAME", against the
libraries the executable loads, listed by its own dynamic linker (`ld.so --list EXE`, what ldd runs:
DT_NEEDED resolved through DT_RUNPATH, the ld.so cache and the system directories) without running it.
"""

from __future__ import annotations

import fnmatch
import functools
import os
import subprocess

_GLOB = set("*?[")


def library_paths(exe: str | None, name: str) -> list[str]:
    """The real paths of the libraries NAME matches in EXE (empty: none matches)."""
    if "/" in name:
        return [os.path.realpath(name)] if os.path.isfile(name) else []
    if not _GLOB & set(name):
        for d in os.environ.get("LD_LIBRARY_PATH", "").split(":"):
            candidate = os.path.join(d, name)
            if d and os.path.isfile(candidate):
                return [os.path.realpath(candidate)]
    pattern = "*" + name
    found = [p for p in loaded_libraries(exe) if fnmatch.fnmatchcase(p, pattern)] if exe else []
    return list(dict.fromkeys(os.path.realpath(p) for p in found))


def loaded_libraries(exe: str) -> tuple[str, ...]:
    """The libraries EXE loads, by the paths its dynamic linker reports (empty for a static file)."""
    try:
        st = os.stat(exe)
    except OSError:
        return ()
    return _listed(os.path.realpath(exe), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=32)
def _listed(exe: str, mtime: int, size: int) -> tuple[str, ...]:
    interp = _interpreter(exe)
    if interp is None:
        return ()
    try:
        out = subprocess.run([interp, "--list", exe], capture_output=True, text=True, timeout=30,
                             stdin=subprocess.DEVNULL).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    paths: list[str] = []
    for line in out.splitlines():
        # "\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "\t/lib64/ld-linux-x86-64.so.2 (0x…)"
        text = line.strip().rsplit(" (", 1)[0]
        path = text.split(" => ", 1)[1] if " => " in text else text
        if path.startswith("/"):
            paths.append(path)
    return tuple(paths)


def _interpreter(exe: str) -> str | None:
    """The file's PT_INTERP (its dynamic linker), None for a static or unreadable file."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with open(exe, "rb") as fh:
            for seg in ELFFile(fh).iter_segments():
                if seg["p_type"] == "PT_INTERP":
                    interp = seg.data().rstrip(b"\0").decode(errors="replace")
                    return interp if os.path.isfile(interp) else None
    except (OSError, ValueError, ELFError):
        return None
    return None
